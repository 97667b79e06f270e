"""`tmis up --brokers 3`: the config each broker of a local cluster gets, where it lives, how
the stack records three brokers, and what topics are created with; one broker stays as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.local import kafka
from deploy.local.errors import StackError
from deploy.local.stack import broker_count_for
from deploy.local.state import KafkaNode, KafkaRecord, StackState, load, save
from shared.kafka import Replication, _wanted, bootstrap_servers


def properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines()
                if line and not line.startswith("#"))


def test_each_broker_of_a_cluster_is_a_voter_of_one_static_quorum(tmp_path: Path) -> None:
    quorum = [9101, 9102, 9103]
    configs = [properties(kafka.cluster_properties(kafka.KafkaPaths(tmp_path, n), 9090 + n,
                                                   quorum[n - 1], quorum))
               for n in (1, 2, 3)]
    assert [c["node.id"] for c in configs] == ["1", "2", "3"]
    assert {c["controller.quorum.voters"] for c in configs} == {
        "1@127.0.0.1:9101,2@127.0.0.1:9102,3@127.0.0.1:9103"}
    assert configs[1]["listeners"] == \
        "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9102"
    assert configs[1]["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9092"
    assert configs[2]["log.dirs"] == str(tmp_path / "kafka" / "broker-3" / "data")
    assert all(c["process.roles"] == "broker,controller" for c in configs)


def test_a_cluster_replicates_three_times_and_acknowledges_with_two_in_sync(
        tmp_path: Path) -> None:
    config = properties(kafka.cluster_properties(kafka.KafkaPaths(tmp_path, 1), 9091, 9101,
                                                 [9101, 9102, 9103]))
    assert config["default.replication.factor"] == "3"
    assert config["min.insync.replicas"] == "2"
    assert config["offsets.topic.replication.factor"] == "3"
    assert config["transaction.state.log.replication.factor"] == "3"
    assert config["transaction.state.log.min.isr"] == "2"
    assert "controller.quorum.bootstrap.servers" not in config


def test_a_node_outside_the_quorum_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StackError):
        kafka.cluster_properties(kafka.KafkaPaths(tmp_path, 4), 9094, 9104, [9101, 9102, 9103])


def test_the_single_broker_keeps_its_standalone_config_and_layout(tmp_path: Path) -> None:
    config = properties(kafka.SERVER_PROPERTIES.format(port=9092, controller_port=9093,
                                                       data=kafka.KafkaPaths(tmp_path).data))
    assert config["controller.quorum.bootstrap.servers"] == "127.0.0.1:9093"
    assert config["offsets.topic.replication.factor"] == "1"
    assert "default.replication.factor" not in config
    single = kafka.KafkaPaths(tmp_path)
    assert single.config == tmp_path / "kafka" / "server.properties"
    assert single.stdout_log == tmp_path / "logs" / "kafka.out"
    assert kafka.node_paths(tmp_path, 1) == [single]


def test_cluster_nodes_have_their_own_files_logs_and_process_marker(tmp_path: Path) -> None:
    nodes = kafka.node_paths(tmp_path, 3)
    assert [p.config for p in nodes] == [tmp_path / "kafka" / f"broker-{n}" / "server.properties"
                                         for n in (1, 2, 3)]
    assert [p.server_log for p in nodes] == [tmp_path / "logs" / f"kafka-{n}" /
                                             "kafka-server.log" for n in (1, 2, 3)]
    markers = [p.marker for p in [kafka.KafkaPaths(tmp_path), *nodes]]
    assert not any(a in b for a in markers for b in markers if a is not b)


def test_three_brokers_are_recorded_and_bootstrapped_together(tmp_path: Path) -> None:
    record = KafkaRecord(9091, 9101, 11, [KafkaNode(9092, 9102, 12), KafkaNode(9093, 9103)])
    save(tmp_path, StackState(kafka=record))
    again = load(tmp_path).kafka
    assert again is not None
    assert again.brokers == 3
    assert again.bootstrap == "127.0.0.1:9091,127.0.0.1:9092,127.0.0.1:9093"
    assert [n.pid for n in again.nodes] == [11, 12, None]
    assert StackState(kafka=record).pids() == [11, 12]


def test_a_single_brokers_record_is_written_as_before(tmp_path: Path) -> None:
    doc = StackState(kafka=KafkaRecord(9092, 9093, 7)).to_json()["kafka"]
    assert doc == {"port": 9092, "controller_port": 9093, "pid": 7,
                   "bootstrap": "127.0.0.1:9092"}


def test_the_broker_count_comes_from_the_flag_then_the_state_dir_then_one(
        tmp_path: Path) -> None:
    assert broker_count_for(tmp_path, None) == 1
    assert broker_count_for(tmp_path, 3) == 3
    save(tmp_path, StackState(kafka=KafkaRecord(9091, 9101, more=[KafkaNode(9092, 9102),
                                                                   KafkaNode(9093, 9103)])))
    assert broker_count_for(tmp_path, None) == 3


def test_a_state_dir_formatted_for_one_broker_refuses_three_without_fresh(
        tmp_path: Path) -> None:
    data = kafka.KafkaPaths(tmp_path).data
    data.mkdir(parents=True)
    (data / "meta.properties").write_text("cluster.id=x\n")
    with pytest.raises(StackError, match="--fresh --brokers 3"):
        broker_count_for(tmp_path, 3)
    assert broker_count_for(tmp_path, 1) == 1


def test_a_cluster_state_dir_refuses_one_broker_without_fresh(tmp_path: Path) -> None:
    data = kafka.KafkaPaths(tmp_path, 1).data
    data.mkdir(parents=True)
    (data / "meta.properties").write_text("cluster.id=x\n")
    with pytest.raises(StackError, match="--fresh --brokers 1"):
        broker_count_for(tmp_path, 1)


def test_topics_get_the_clusters_replication_and_min_insync_replicas() -> None:
    topics = _wanted(None, Replication(3, 2))
    assert {t.replication_factor for t in topics} == {3}
    assert {t.topic_configs["min.insync.replicas"] for t in topics} == {"2"}


def test_on_one_broker_topics_are_created_exactly_as_before() -> None:
    topics = _wanted(None)
    assert {t.replication_factor for t in topics} == {1}
    assert not any("min.insync.replicas" in t.topic_configs for t in topics)


def test_a_clusters_bootstrap_is_handed_to_faststream_as_one_address_per_broker() -> None:
    assert bootstrap_servers("127.0.0.1:9091,127.0.0.1:9092, 127.0.0.1:9093") == [
        "127.0.0.1:9091", "127.0.0.1:9092", "127.0.0.1:9093"]
    assert bootstrap_servers("127.0.0.1:9092") == ["127.0.0.1:9092"]
