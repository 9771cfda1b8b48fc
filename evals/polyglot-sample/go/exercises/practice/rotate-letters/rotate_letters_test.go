package rotateletters

import "testing"

func TestShiftByOne(t *testing.T) {
	if got := Rotate("abc", 1); got != "bcd" {
		t.Fatalf("Rotate(%q, %d) = %q, want %q", "abc", 1, got, "bcd")
	}
}

func TestWrapsAround(t *testing.T) {
	if got := Rotate("xyz", 3); got != "abc" {
		t.Fatalf("Rotate(%q, %d) = %q, want %q", "xyz", 3, got, "abc")
	}
}

func TestShiftByZero(t *testing.T) {
	if got := Rotate("abc", 0); got != "abc" {
		t.Fatalf("Rotate(%q, %d) = %q, want %q", "abc", 0, got, "abc")
	}
}

func TestLowerCasePhrase(t *testing.T) {
	if got := Rotate("hello world", 13); got != "uryyb jbeyq" {
		t.Fatalf("Rotate(%q, %d) = %q, want %q", "hello world", 13, got, "uryyb jbeyq")
	}
}

func TestKeepsCaseAndPunctuation(t *testing.T) {
	if got := Rotate("Hello, World!", 13); got != "Uryyb, Jbeyq!" {
		t.Fatalf("Rotate(%q, %d) = %q, want %q", "Hello, World!", 13, got, "Uryyb, Jbeyq!")
	}
}

func TestNegativeShift(t *testing.T) {
	if got := Rotate("abc", -1); got != "zab" {
		t.Fatalf("Rotate(%q, %d) = %q, want %q", "abc", -1, got, "zab")
	}
}

func TestShiftLargerThanTheAlphabet(t *testing.T) {
	if got := Rotate("Zebra 42", 27); got != "Afcsb 42" {
		t.Fatalf("Rotate(%q, %d) = %q, want %q", "Zebra 42", 27, got, "Afcsb 42")
	}
}
