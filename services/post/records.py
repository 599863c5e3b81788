"""A post as the `Post` message: shared by the servicer and the read cache."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp

from koo.post.v1 import post_service_pb2 as pb
from services.post.domain import PostView


def post_message(view: PostView) -> pb.Post:
    row = view.row
    created = Timestamp()
    created.FromDatetime(row.created_at)
    author = (
        pb.PostAuthor(
            id=view.author.id,
            handle=view.author.handle,
            display_name=view.author.display_name,
            verified=view.author.verified,
        )
        if view.author
        else pb.PostAuthor(id=row.author_id)
    )
    return pb.Post(
        id=row.id,
        author=author,
        text=row.text,
        language=row.language,
        hashtags=row.hashtags,
        mentions=row.mentions,
        media=view.media,
        reply_to_id=row.reply_to_id,
        repost_of_id=row.repost_of_id,
        like_count=row.like_count,
        reply_count=row.reply_count,
        repost_count=row.repost_count,
        liked_by_me=row.liked_by_me,
        created_at=created,
        repost_of_author_id=row.repost_of_author_id,
    )
