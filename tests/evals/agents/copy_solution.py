"""A scripted test agent: answers.json (next to this file) maps an exercise's title line,
'<slug> (<language>)', to {path: content}; the agent writes that solution into the
workspace. Standard library only, no LLM."""
import argparse
import json
import os
import re

parser = argparse.ArgumentParser()
parser.add_argument("--instruction")
parser.add_argument("--workspace")
args = parser.parse_args()
answers = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "answers.json")))
title = re.search(r"^# Exercise: (.+)$", open(args.instruction).read(), re.M).group(1).strip()
for path, content in answers[title].items():
    target = os.path.join(args.workspace, path)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "w") as f:
        f.write(content)
print("wrote", title)
