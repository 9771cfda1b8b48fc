def rotate(text, shift):
    pass
