import unittest

from rotate_letters import rotate


class RotateLettersTest(unittest.TestCase):
    def test_shift_by_one(self):
        self.assertEqual(rotate("abc", 1), "bcd")

    def test_wraps_around(self):
        self.assertEqual(rotate("xyz", 3), "abc")

    def test_shift_by_zero(self):
        self.assertEqual(rotate("abc", 0), "abc")

    def test_lower_case_phrase(self):
        self.assertEqual(rotate("hello world", 13), "uryyb jbeyq")

    def test_keeps_case_and_punctuation(self):
        self.assertEqual(rotate("Hello, World!", 13), "Uryyb, Jbeyq!")

    def test_negative_shift(self):
        self.assertEqual(rotate("abc", -1), "zab")

    def test_shift_larger_than_the_alphabet(self):
        self.assertEqual(rotate("Zebra 42", 27), "Afcsb 42")
