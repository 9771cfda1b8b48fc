module rotateletters

go 1.19
