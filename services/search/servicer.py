"""gRPC face of the search service: proto <-> domain, hydration through the owners."""

from __future__ import annotations

from grpc.aio import ServicerContext

from koo.search.v1 import search_service_pb2 as pb
from koo.search.v1 import search_service_pb2_grpc as pb_grpc
from services.kit.context import current_caller
from services.kit.paging import page_size
from services.search.domain import SearchDomain
from services.search.latin_typing import WordsFor, transliterate
from services.search.peers import Peers

_SOURCE = {True: pb.TRANSLITERATION_SOURCE_VOCABULARY, False: pb.TRANSLITERATION_SOURCE_RULES}


def _viewer() -> int | None:
    caller = current_caller()
    return caller.user_id if caller else None


class SearchServicer(pb_grpc.SearchServiceServicer):
    def __init__(self, domain: SearchDomain, peers: Peers, *, words_for: WordsFor) -> None:
        self.domain = domain
        self.peers = peers
        self.words_for = words_for

    async def SearchPosts(self, request: pb.SearchPostsRequest, context: ServicerContext) -> pb.SearchPostsResponse:
        page = await self.domain.search_posts(
            q=request.q,
            language=request.language,
            author_id=request.author_id,
            size=page_size(request.page_size),
            page_token=request.page_token,
            viewer_id=_viewer(),
        )
        posts = await self.peers.posts_in_order(page.ids)
        return pb.SearchPostsResponse(posts=posts, next_page_token=page.next_page_token)

    async def SearchUsers(self, request: pb.SearchUsersRequest, context: ServicerContext) -> pb.SearchUsersResponse:
        page = await self.domain.search_users(
            q=request.q, size=page_size(request.page_size), page_token=request.page_token, viewer_id=_viewer()
        )
        users = await self.peers.users_in_order(page.ids)
        return pb.SearchUsersResponse(users=users, next_page_token=page.next_page_token)

    async def SearchHashtags(
        self, request: pb.SearchHashtagsRequest, context: ServicerContext
    ) -> pb.SearchHashtagsResponse:
        hits = await self.domain.search_hashtags(q=request.q, limit=request.limit)
        return pb.SearchHashtagsResponse(hashtags=[pb.HashtagResult(tag=h.tag, post_count=h.post_count) for h in hits])

    async def Transliterate(
        self, request: pb.TransliterateRequest, context: ServicerContext
    ) -> pb.TransliterateResponse:
        found = await transliterate(
            request.text, language=request.language, limit=request.max_candidates, words_for=self.words_for
        )
        return pb.TransliterateResponse(
            candidates=[pb.Transliteration(text=c.text, source=_SOURCE[c.from_vocabulary]) for c in found]
        )
