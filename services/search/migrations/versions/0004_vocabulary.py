"""The platform's vocabulary: native-script words posts use, by the phonetic keys of their
Latin spellings (what the transliteration endpoint offers first for a Latin word).

Revision ID: 0004
"""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE vocabulary (
            key    TEXT NOT NULL,   -- phonetic key of a Latin spelling (transliterate.word_keys)
            script TEXT NOT NULL,   -- the word's script (Devanagari, Tamil, ...)
            word   TEXT NOT NULL,   -- NFC, as posts write it
            uses   BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (key, script, word)
        )
        """
    )
    # Posts already counted: a redelivered post.created adds nothing.
    op.execute("CREATE TABLE vocabulary_posts (post_id BIGINT PRIMARY KEY)")
