const PAIRS = { ')': '(', ']': '[', '}': '{' };

export const maxDepth = (text) => {
  const stack = [];
  let deepest = 0;
  for (const char of text) {
    if ('([{'.includes(char)) {
      stack.push(char);
      deepest = Math.max(deepest, stack.length);
    } else if (char in PAIRS) {
      if (stack.pop() !== PAIRS[char]) return -1;
    }
  }
  return stack.length ? -1 : deepest;
};
