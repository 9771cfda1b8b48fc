import { maxDepth } from './bracket-depth';

describe('bracket depth', () => {
  test("empty text", () => {
    expect(maxDepth("")).toEqual(0);
  });

  xtest("no brackets", () => {
    expect(maxDepth("abc")).toEqual(0);
  });

  xtest("one pair", () => {
    expect(maxDepth("(a)")).toEqual(1);
  });

  xtest("mixed kinds", () => {
    expect(maxDepth("([]{})")).toEqual(2);
  });

  xtest("three levels", () => {
    expect(maxDepth("((x)[{y}])")).toEqual(3);
  });

  xtest("wrong closing kind", () => {
    expect(maxDepth("(]")).toEqual(-1);
  });

  xtest("left open", () => {
    expect(maxDepth("((")).toEqual(-1);
  });

  xtest("closed before opened", () => {
    expect(maxDepth(")(")).toEqual(-1);
  });
});
