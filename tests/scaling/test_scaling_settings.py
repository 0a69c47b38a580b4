"""The settings of the scaling pieces: parsed, normalised, refused with a message that names them."""

from __future__ import annotations

import pytest

from edutrack.i18n import use_locale
from edutrack.realtime.hub import Hub
from edutrack.realtime.shards import ShardedHub, make_hub
from edutrack.redis_cluster import cluster_nodes, is_cluster, node_url
from edutrack.resources import make_redis
from edutrack.settings import Settings, SettingsError, load_settings


def test_defaults_keep_one_machine_as_it_was() -> None:
    defaults = Settings()
    assert (defaults.rabbitmq_queue_type, defaults.database_pool_mode) == ("classic", "session")
    assert defaults.database_read_url == ""
    assert defaults.database_read_wait == 0.5


def test_values_are_parsed_and_normalised() -> None:
    settings = load_settings({"RABBITMQ_QUEUE_TYPE": " Quorum ", "DATABASE_POOL_MODE": "TRANSACTION",
                              "DATABASE_READ_URL": "postgres://reader@replica:5432/edutrack",
                              "DATABASE_READ_WAIT": "0.2"}, env_file=None)
    assert settings.rabbitmq_queue_type == "quorum"
    assert settings.database_pool_mode == "transaction"
    assert settings.database_read_url == "postgresql+asyncpg://reader@replica:5432/edutrack"
    assert settings.database_read_wait == 0.2


@pytest.mark.parametrize(("env", "needle"), [
    ({"RABBITMQ_QUEUE_TYPE": "stream"}, "RABBITMQ_QUEUE_TYPE must be one of classic, quorum"),
    ({"DATABASE_POOL_MODE": "statement"}, "DATABASE_POOL_MODE must be one of session, transaction"),
    ({"DATABASE_READ_URL": "mysql://replica/db"}, "DATABASE_READ_URL must be empty or a PostgreSQL URL"),
    ({"DATABASE_READ_WAIT": "0"}, "DATABASE_READ_WAIT must be positive"),
    ({"REDIS_CLUSTER_NODES": "redis-1:6379,redis-2"}, "REDIS_CLUSTER_NODES must list host:port entries"),
    ({"REDIS_CLUSTER_NODES": "redis-1:port"}, "REDIS_CLUSTER_NODES must list host:port entries"),
])
def test_bad_values_are_refused(env: dict[str, str], needle: str) -> None:
    with use_locale("en"), pytest.raises(SettingsError) as caught:
        load_settings(env, env_file=None)
    assert any(needle in problem for problem in caught.value.problems), caught.value.problems


def test_no_cluster_nodes_keeps_one_redis() -> None:
    settings = Settings()
    assert settings.redis_cluster_nodes == ""
    assert cluster_nodes(settings) == []
    assert not is_cluster(make_redis(settings))
    hub = make_hub(settings, on_node_event=lambda event: None, on_recovered=lambda: None)
    assert type(hub) is Hub


def test_cluster_nodes_choose_the_cluster_client_and_the_sharded_hub() -> None:
    settings = load_settings({"REDIS_CLUSTER_NODES": " redis-1:6379, redis-2:6380 ,",
                              "REDIS_URL": "rediss://app:secret@ignored:1/3?ssl_cert_reqs=none"}, env_file=None)
    assert cluster_nodes(settings) == [("redis-1", 6379), ("redis-2", 6380)]
    assert is_cluster(make_redis(settings))
    assert isinstance(make_hub(settings, on_node_event=lambda event: None, on_recovered=lambda: None), ShardedHub)
    # Each shard connection: REDIS_URL's scheme, credentials and options, the node's address, database 0.
    assert node_url(settings.redis_url, "10.0.0.7", 7001) == "rediss://app:secret@10.0.0.7:7001?ssl_cert_reqs=none"
