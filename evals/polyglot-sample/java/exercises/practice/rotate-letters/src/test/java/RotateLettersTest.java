import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

public class RotateLettersTest {

    @Test
    public void shiftByOne() {
        assertThat(RotateLetters.rotate("abc", 1)).isEqualTo("bcd");
    }

    @Test
    public void wrapsAround() {
        assertThat(RotateLetters.rotate("xyz", 3)).isEqualTo("abc");
    }

    @Test
    public void shiftByZero() {
        assertThat(RotateLetters.rotate("abc", 0)).isEqualTo("abc");
    }

    @Test
    public void lowerCasePhrase() {
        assertThat(RotateLetters.rotate("hello world", 13)).isEqualTo("uryyb jbeyq");
    }

    @Test
    public void keepsCaseAndPunctuation() {
        assertThat(RotateLetters.rotate("Hello, World!", 13)).isEqualTo("Uryyb, Jbeyq!");
    }

    @Test
    public void negativeShift() {
        assertThat(RotateLetters.rotate("abc", -1)).isEqualTo("zab");
    }

    @Test
    public void shiftLargerThanTheAlphabet() {
        assertThat(RotateLetters.rotate("Zebra 42", 27)).isEqualTo("Afcsb 42");
    }
}
