package rotateletters

func Rotate(text string, shift int) string {
	out := []byte(text)
	for i, c := range out {
		var base byte
		switch {
		case c >= 'a' && c <= 'z':
			base = 'a'
		case c >= 'A' && c <= 'Z':
			base = 'A'
		default:
			continue
		}
		out[i] = base + byte(((int(c-base)+shift)%26+26)%26)
	}
	return string(out)
}
