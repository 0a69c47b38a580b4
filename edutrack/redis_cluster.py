"""Redis Cluster mode: REDIS_CLUSTER_NODES set, decided once when a process builds its Redis client.

Commands go through redis-py's cluster client (redis.asyncio.cluster.RedisCluster), which routes each command
to the master of its key's slot and follows MOVED/ASK and failovers by refreshing its slot map. Everything
EduTrack does in Redis is laid out so that one command, script or transaction touches one slot:

  * live events use sharded pub/sub (SPUBLISH / SSUBSCRIBE): a channel lives on the master of its slot, and a
    node's hub (realtime/shards.py) subscribes on each master only the channels its sockets hold; a batch of
    events is published per master, each part on its own, so a failing master delays only its own channels
    (live_shards.py);
  * presence keys are one key per user; "who of these is online" asks key by key (a pipeline, grouped by node);
  * cache buckets are one hash each; what spans buckets (invalidations, entries depending on other buckets) is
    done bucket by bucket, kept correct by the buckets' tokens (cache.py);
  * login throttle records, checked and counted together, share the hash tag `{namespace:throttle}`; rate
    limit counters are one key each.

With REDIS_CLUSTER_NODES empty, none of this applies: one Redis at REDIS_URL, plain PUBLISH/SUBSCRIBE.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.asyncio.connection import SSLConnection, parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException

from edutrack.settings import Settings


def cluster_nodes(settings: Settings) -> list[tuple[str, int]]:
    """The (host, port) pairs of REDIS_CLUSTER_NODES; empty: not a cluster."""
    nodes = []
    for entry in settings.redis_cluster_nodes.split(","):
        if entry.strip():
            host, _, port = entry.strip().rpartition(":")
            nodes.append((host.strip("[]"), int(port)))
    return nodes


def node_url(redis_url: str, host: str, port: int) -> str:
    """REDIS_URL's scheme, credentials and options with this node's address (a cluster has database 0 only)."""
    parts = urlsplit(redis_url)
    credentials = parts.netloc.rpartition("@")[0]
    address = f"[{host}]" if ":" in host else host
    netloc = f"{credentials}@{address}:{port}" if credentials else f"{address}:{port}"
    scheme = parts.scheme if parts.scheme in ("redis", "rediss") else "redis"
    return urlunsplit((scheme, netloc, "", parts.query, ""))


class ClusterUnavailable(RedisConnectionError):
    """The cluster could not serve a command: no node reachable, or a slot no master covers. redis-py raises
    RedisClusterException for these, which is not a RedisError; as this one is, every caller treats it as it treats
    one Redis that is down (log, fall back to PostgreSQL, let the request through)."""


class _Pipeline(ClusterPipeline):
    async def initialize(self) -> ClusterPipeline:
        try:
            return await super().initialize()
        except RedisClusterException as exc:
            raise ClusterUnavailable(str(exc)) from exc

    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> list[Any]:
        try:
            return await super().execute(raise_on_error, allow_redirections)
        except RedisClusterException as exc:
            raise ClusterUnavailable(str(exc)) from exc


class _Cluster(RedisCluster):
    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().execute_command(*args, **kwargs)
        except RedisClusterException as exc:
            raise ClusterUnavailable(str(exc)) from exc

    def pipeline(self, transaction: Any | None = None, shard_hint: Any | None = None) -> ClusterPipeline:
        return _Pipeline(self, transaction)  # type: ignore[abstract]


def make_cluster(settings: Settings) -> Redis:
    """The cluster client, typed as the single-node client whose command API it offers (ctx.redis)."""
    options = parse_url(settings.redis_url)  # credentials and TLS options, as the subscription connections read them
    tls: dict[str, Any] = {key: value for key, value in options.items() if key.startswith("ssl_")}
    client = _Cluster(
        startup_nodes=[ClusterNode(host, port) for host, port in cluster_nodes(settings)],
        username=options.get("username") or None,
        password=options.get("password") or None,
        ssl=options.get("connection_class") is SSLConnection,
        **tls,
        max_connections=settings.redis_max_connections,
        socket_connect_timeout=1.0,
        socket_timeout=1.0,
        decode_responses=False,
        client_name=f"edutrack:{settings.namespace}",
    )
    return cast(Redis, client)


def is_cluster(client: Any) -> bool:
    return isinstance(client, RedisCluster)


def as_cluster(client: Any) -> RedisCluster:
    assert isinstance(client, RedisCluster)
    return client
