"""Running sandboxed jobs on a Ray cluster. The head keeps everything stateful (selection,
git, the archive, the gateway with its keys); cluster nodes only host sandboxes.

Nothing here is imported on the CLI's start-up path: `ray` is an optional dependency
(`pip install dgm[ray]`) loaded only when a run uses `[executor] kind = "ray"`.
"""
