import { rotate } from './rotate-letters';

describe('rotate letters', () => {
  test("shift by one", () => {
    expect(rotate("abc", 1)).toEqual("bcd");
  });

  test("wraps around", () => {
    expect(rotate("xyz", 3)).toEqual("abc");
  });

  test("shift by zero", () => {
    expect(rotate("abc", 0)).toEqual("abc");
  });

  test("lower case phrase", () => {
    expect(rotate("hello world", 13)).toEqual("uryyb jbeyq");
  });

  test("keeps case and punctuation", () => {
    expect(rotate("Hello, World!", 13)).toEqual("Uryyb, Jbeyq!");
  });

  test("negative shift", () => {
    expect(rotate("abc", -1)).toEqual("zab");
  });

  test("shift larger than the alphabet", () => {
    expect(rotate("Zebra 42", 27)).toEqual("Afcsb 42");
  });
});
