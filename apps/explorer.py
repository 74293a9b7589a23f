"""``panel serve apps/explorer.py``: the explorer at ``/explorer``.

The repository comes from ``?repo=`` in the URL, else ``$REPO_EXPLORER_REPO``, else the sample
repository (built on first use). ``$REPO_EXPLORER_REPO_ROOTS`` (directories separated by ``:``)
confines the repository path as ``repo-explorer serve --repo-root`` does.
"""
from explorer import app
from explorer.allocator import tune_for_serving

tune_for_serving()  # freed memory leaves the process sooner (cheap to repeat; arenas made before stay)
app.warm_up()  # numba kernels compile once per process (cached), not on a person's first click
app.create_app(repo_roots=app.env_repo_roots()).servable(title="Repository explorer")
