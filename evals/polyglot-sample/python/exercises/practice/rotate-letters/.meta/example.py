def rotate(text, shift):
    out = []
    for char in text:
        if "a" <= char <= "z" or "A" <= char <= "Z":
            base = ord("a") if char.islower() else ord("A")
            char = chr(base + (ord(char) - base + shift) % 26)
        out.append(char)
    return "".join(out)
