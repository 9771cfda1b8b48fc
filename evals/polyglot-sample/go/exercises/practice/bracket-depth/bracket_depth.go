package bracketdepth

func MaxDepth(text string) int {
	panic("Please implement the MaxDepth function")
}
