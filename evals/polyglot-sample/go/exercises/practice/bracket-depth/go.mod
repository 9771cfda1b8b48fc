module bracketdepth

go 1.19
