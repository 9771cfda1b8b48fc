package rotateletters

func Rotate(text string, shift int) string {
	panic("Please implement the Rotate function")
}
