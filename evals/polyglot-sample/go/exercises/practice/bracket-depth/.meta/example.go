package bracketdepth

var pairs = map[rune]rune{')': '(', ']': '[', '}': '{'}

func MaxDepth(text string) int {
	stack := []rune{}
	deepest := 0
	for _, c := range text {
		switch c {
		case '(', '[', '{':
			stack = append(stack, c)
			if len(stack) > deepest {
				deepest = len(stack)
			}
		case ')', ']', '}':
			if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
				return -1
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		return -1
	}
	return deepest
}
