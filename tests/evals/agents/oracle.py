"""A test agent that 'solves' by lookup: answers.json (next to this file) maps the sha256 of
the instruction or of a workspace file to {path: content} to write. Plain Python, no LLM."""
import argparse
import hashlib
import json
import os

parser = argparse.ArgumentParser()
parser.add_argument("--instruction")
parser.add_argument("--workspace")
args = parser.parse_args()
answers = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "answers.json")))
keys = [hashlib.sha256(open(args.instruction, "rb").read()).hexdigest()]
for root, _, files in os.walk(args.workspace):
    for name in files:
        keys.append(hashlib.sha256(open(os.path.join(root, name), "rb").read()).hexdigest())
for key in keys:
    for path, content in answers.get(key, {}).items():
        target = os.path.join(args.workspace, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w") as f:
            f.write(content)
print("done")
