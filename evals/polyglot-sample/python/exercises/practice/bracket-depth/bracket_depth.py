def max_depth(text):
    pass
