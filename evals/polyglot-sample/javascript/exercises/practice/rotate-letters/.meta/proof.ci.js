export const rotate = (text, shift) =>
  text.replace(/[a-zA-Z]/g, (char) => {
    const base = char <= 'Z' ? 65 : 97;
    return String.fromCharCode(base + ((((char.charCodeAt(0) - base + shift) % 26) + 26) % 26));
  });
