import unittest

from words import count_words


class Hidden(unittest.TestCase):
    def test_counts(self):
        self.assertEqual(count_words("one fish two fish"), {"one": 1, "fish": 2, "two": 1})
        self.assertEqual(count_words("Go, go GO!"), {"go": 3})
        self.assertEqual(count_words("don't stop 'til 2 o'clock"), {"don't": 1, "stop": 1, "til": 1, "2": 1, "o'clock": 1})
        self.assertEqual(type(count_words("a")), dict)
