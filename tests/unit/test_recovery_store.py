"""The local launcher never resumes from offsets of a broker that is gone."""

from __future__ import annotations

from ops.run import prepare_recovery


def test_a_recovery_store_is_kept_for_the_same_cluster_and_remade_for_another(tmp_path):
    store = tmp_path / "recovery"
    prepare_recovery(store, fresh=False, partitions=1, cluster_id="cluster-a")
    (store / "kept").write_text("x")
    prepare_recovery(store, fresh=False, partitions=1, cluster_id="cluster-a")
    assert (store / "kept").exists()
    prepare_recovery(store, fresh=False, partitions=1, cluster_id="cluster-b")
    assert not (store / "kept").exists() and (store / "cluster-id").read_text() == "cluster-b"


def test_an_embedded_broker_always_gets_a_fresh_store(tmp_path):
    store = tmp_path / "recovery"
    prepare_recovery(store, fresh=True, partitions=1, cluster_id="tansu_cluster")
    (store / "kept").write_text("x")
    prepare_recovery(store, fresh=True, partitions=1, cluster_id="tansu_cluster")
    assert not (store / "kept").exists() and any(store.iterdir())
