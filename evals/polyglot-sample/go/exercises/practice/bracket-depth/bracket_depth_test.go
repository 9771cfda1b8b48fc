package bracketdepth

import "testing"

func TestEmptyText(t *testing.T) {
	if got := MaxDepth(""); got != 0 {
		t.Fatalf("MaxDepth(%q) = %d, want %d", "", got, 0)
	}
}

func TestNoBrackets(t *testing.T) {
	if got := MaxDepth("abc"); got != 0 {
		t.Fatalf("MaxDepth(%q) = %d, want %d", "abc", got, 0)
	}
}

func TestOnePair(t *testing.T) {
	if got := MaxDepth("(a)"); got != 1 {
		t.Fatalf("MaxDepth(%q) = %d, want %d", "(a)", got, 1)
	}
}

func TestMixedKinds(t *testing.T) {
	if got := MaxDepth("([]{})"); got != 2 {
		t.Fatalf("MaxDepth(%q) = %d, want %d", "([]{})", got, 2)
	}
}

func TestThreeLevels(t *testing.T) {
	if got := MaxDepth("((x)[{y}])"); got != 3 {
		t.Fatalf("MaxDepth(%q) = %d, want %d", "((x)[{y}])", got, 3)
	}
}

func TestWrongClosingKind(t *testing.T) {
	if got := MaxDepth("(]"); got != -1 {
		t.Fatalf("MaxDepth(%q) = %d, want %d", "(]", got, -1)
	}
}

func TestLeftOpen(t *testing.T) {
	if got := MaxDepth("(("); got != -1 {
		t.Fatalf("MaxDepth(%q) = %d, want %d", "((", got, -1)
	}
}

func TestClosedBeforeOpened(t *testing.T) {
	if got := MaxDepth(")("); got != -1 {
		t.Fatalf("MaxDepth(%q) = %d, want %d", ")(", got, -1)
	}
}
