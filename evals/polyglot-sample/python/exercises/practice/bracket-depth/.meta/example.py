PAIRS = {")": "(", "]": "[", "}": "{"}


def max_depth(text):
    stack, deepest = [], 0
    for char in text:
        if char in "([{":
            stack.append(char)
            deepest = max(deepest, len(stack))
        elif char in PAIRS:
            if not stack or stack.pop() != PAIRS[char]:
                return -1
    return -1 if stack else deepest
