"""Running sandboxed jobs on a Ray cluster. The head keeps everything stateful (selection,
git, the archive, the gateway with its keys); cluster nodes only host sandboxes.

Nothing here is imported on the CLI's start-up path: `ray` is an optional dependency
(`pip install dgm[ray]`) loaded only when a run uses `[executor] kind = "ray"`.

Ray's auto-connect is off for this process (read when ray is first imported): a call made while
a Ray Client's link is being made again must fail, not quietly start or join another cluster.
"""

import os

os.environ.setdefault("RAY_ENABLE_AUTO_CONNECT", "0")
