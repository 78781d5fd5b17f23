# Read a merged token directory (simvq-audio tokenize + tokenize merge) with numpy alone.
import json
import sys

import numpy as np

root = sys.argv[1] if len(sys.argv) > 1 else "tokens"
index = json.load(open(f"{root}/index.json"))
# One memory map per shard: flat little-endian uint32 tokens, no copy in memory.
shards = [np.memmap(f"{root}/{shard['bin']}", dtype="<u4", mode="r") for shard in index["shards"]]
for line in open(f"{root}/manifest.jsonl"):
    utterance = json.loads(line)
    start = utterance["offset"]
    tokens = shards[utterance["shard"]][start : start + utterance["n_tokens"]]
    print(utterance["id"], len(tokens), " ".join(map(str, tokens[:8])))
