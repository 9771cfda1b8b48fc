"""Expected failures of the run store. Each message is one line naming the path or id.

Kept free of heavy imports: the CLI launcher looks this module up after any failure.
"""


class ArchiveError(Exception):
    """Base of the expected errors raised by the `archive` package."""


class NotARunError(ArchiveError):
    """The folder is not a run directory (no run.toml, or no archive.db)."""


class UnknownAgentError(ArchiveError):
    """No agent with that id (or prefix) is in the archive."""


class SchemaTooNewError(ArchiveError):
    """The database was written by a newer dgm than this one."""


class SchemaTooOldError(ArchiveError):
    """The database needs migrations that a read-only open cannot apply."""


class ArchiveLockedError(ArchiveError):
    """Another process holds the database locked for longer than the busy timeout."""


class ArchiveCorruptError(ArchiveError):
    """The database file is not a readable SQLite database (garbage, truncated)."""


class MissingGitRepoError(ArchiveError):
    """The run's agents.git repository is missing or is not a git repository."""


class ArchiveConsistencyError(ArchiveError):
    """The database and git disagree (a row names a missing commit, a wrong parent...)."""


class InvalidTreeError(ArchiveError):
    """An agent tree with a path that cannot be stored (absolute, '..', '.git', a link)."""


class PatchApplyError(ArchiveError):
    """A patch that does not apply to the parent agent's tree."""


class ReadOnlyArchiveError(ArchiveError):
    """A write was attempted on an archive opened read-only."""


class RunFileError(ArchiveError):
    """A run export file that cannot be read or imported (not ours, damaged, or a newer format)."""
