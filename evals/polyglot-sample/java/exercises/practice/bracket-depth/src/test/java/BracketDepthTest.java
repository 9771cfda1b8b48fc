import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

public class BracketDepthTest {

    @Test
    public void emptyText() {
        assertThat(new BracketDepth().maxDepth("")).isEqualTo(0);
    }

    @Disabled("Remove to run test")
    @Test
    public void noBrackets() {
        assertThat(new BracketDepth().maxDepth("abc")).isEqualTo(0);
    }

    @Disabled("Remove to run test")
    @Test
    public void onePair() {
        assertThat(new BracketDepth().maxDepth("(a)")).isEqualTo(1);
    }

    @Disabled("Remove to run test")
    @Test
    public void mixedKinds() {
        assertThat(new BracketDepth().maxDepth("([]{})")).isEqualTo(2);
    }

    @Disabled("Remove to run test")
    @Test
    public void threeLevels() {
        assertThat(new BracketDepth().maxDepth("((x)[{y}])")).isEqualTo(3);
    }

    @Disabled("Remove to run test")
    @Test
    public void wrongClosingKind() {
        assertThat(new BracketDepth().maxDepth("(]")).isEqualTo(-1);
    }

    @Disabled("Remove to run test")
    @Test
    public void leftOpen() {
        assertThat(new BracketDepth().maxDepth("((")).isEqualTo(-1);
    }

    @Disabled("Remove to run test")
    @Test
    public void closedBeforeOpened() {
        assertThat(new BracketDepth().maxDepth(")(")).isEqualTo(-1);
    }
}
