class RotateLetters {

    static String rotate(String text, int shift) {
        StringBuilder out = new StringBuilder();
        for (char c : text.toCharArray()) {
            char base = c >= 'a' && c <= 'z' ? 'a' : c >= 'A' && c <= 'Z' ? 'A' : 0;
            out.append(base == 0 ? c : (char) (base + Math.floorMod(c - base + shift, 26)));
        }
        return out.toString();
    }

}
