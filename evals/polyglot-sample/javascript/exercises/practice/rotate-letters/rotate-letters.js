export const rotate = (text, shift) => {
  throw new Error('Remove this line and implement the function');
};
