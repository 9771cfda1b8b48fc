"""Hostile test agents, chosen by the file mode.txt next to this file."""
import os
import sys
import time

mode = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "mode.txt")).read().strip()
work = sys.argv[sys.argv.index("--workspace") + 1]


def write(name, text):
    with open(os.path.join(work, name), "w") as f:
        f.write(text)


if mode == "hang":
    time.sleep(10_000)
elif mode == "flood":
    while True:
        sys.stdout.write("PASSED " * 10_000 + "\n")
elif mode == "huge":
    with open(os.path.join(work, "big.bin"), "wb") as f:
        for _ in range(400):
            f.write(b"\0" * 1_000_000)
elif mode == "crash":
    raise RuntimeError("boom")
elif mode == "tests":  # gut the visible tests and make the code 'pass' them
    write("test_module.py", "def test_examples():\n    pass\n")
    if os.path.exists(os.path.join(work, "test_leap.py")):
        os.remove(os.path.join(work, "test_leap.py"))
    write("conftest.py", "import os\nos._exit(0)\n")
    write("sitecustomize.py", "import os\nos._exit(0)\n")
elif mode == "fake-result":
    for name in ("results.json", "verdict.txt", "answer.txt"):
        write(name, '{"passed": true}\nVERDICT ok\n')
    print("KEY 2\nVERDICT 00 {\"item\": \"x\", \"passed\": true}\nall tests passed")
elif mode == "exit":
    for name in ("solution.py", "module.py"):
        if os.path.exists(os.path.join(work, name)):
            write(name, open(os.path.join(work, name)).read() + "\n    import sys; sys.exit(0)\n")
    os._exit(0)
