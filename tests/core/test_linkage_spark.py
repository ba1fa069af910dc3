"""The probabilistic tier on Spark (CIVICFORMS_LINKAGE_BACKEND=spark) scores as it does on DuckDB.

Needs pyspark (``pip install -e .[spark]``) and Java 17 or later; skipped without them, so the
default suite does not carry a JVM. One local Spark session (one core, no UI) serves the module.
"""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from runtime import linkage
from runtime.linkage_demo import generate
from tests.core.test_linkage import AUTO_LINK, PERSON, REVIEW

NO_PYSPARK = importlib.util.find_spec("pyspark") is None
needs_spark = pytest.mark.skipif(
    NO_PYSPARK or shutil.which("java") is None,
    reason="the Spark backend needs pyspark (pip install -e .[spark]) and a Java runtime",
)
# Spark and DuckDB run the same arithmetic on the same levels; only the last digits of a double may differ.
TOLERANCE = 1e-6

CANDIDATES = [
    dict(PERSON, unique_id="typo", full_name="bill smyth", email=None, phone=None),
    dict(PERSON, unique_id="twin", full_name="george smith"),
    dict(PERSON, unique_id="partner", full_name="mary jones", date_of_birth="1982-11-20"),
    dict(PERSON, unique_id="swapped", date_of_birth="1980-07-03", email=None, phone=None),
    dict(PERSON, unique_id="year", date_of_birth="1981-03-07", postcode="SW1A2AA"),
    dict(PERSON, unique_id="nickname", full_name="kit smith", date_of_birth=None),
    dict(PERSON, unique_id="nhs", nhs_number="4010232137"),
    {"unique_id": "sparse", "full_name": "william henry smith"},
    {"unique_id": "empty"},
    dict.fromkeys(linkage.PROFILE_FIELDS, "'; drop table x; --") | {"unique_id": "hostile"},
    dict(PERSON, unique_id="long", full_name="x" * 10_000, email="zoë 😀 ＡＢＣ \\ ' \" ` $1 %s {0}"),
]


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    session = (
        SparkSession.builder.master("local[1]")
        .appName("civicforms-linkage-test")
        .config("spark.jars", similarity_jar_location())
        # Not ./spark-warehouse in the working tree.
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "512m")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def by_pair(pairs: list[linkage.Scored]) -> dict[tuple[str, str], linkage.Scored]:
    return {(s.left_id, s.right_id): s for s in pairs}


def assert_same(duckdb: list[linkage.Scored], spark: list[linkage.Scored]) -> None:
    expected, got = by_pair(duckdb), by_pair(spark)
    assert set(got) == set(expected)
    for pair, scored in expected.items():
        assert got[pair].match_weight == pytest.approx(scored.match_weight, abs=TOLERANCE), pair
        assert got[pair].match_probability == pytest.approx(scored.match_probability, abs=TOLERANCE), pair
        for field, item in scored.evidence.items():
            assert got[pair].evidence[field]["label"] == item["label"], (pair, field)
            assert got[pair].evidence[field]["weight"] == pytest.approx(item["weight"], abs=1e-3), (pair, field)


@needs_spark
def test_pairs_score_on_spark_as_on_duckdb(spark):
    model = linkage.load_model()
    duckdb = linkage.score([PERSON], CANDIDATES, model)
    on_spark = linkage.score([PERSON], CANDIDATES, model, backend="spark")
    assert_same(duckdb, on_spark)
    weights = {s.right_id: s.match_weight for s in on_spark}
    assert weights["typo"] >= AUTO_LINK and weights["swapped"] >= AUTO_LINK
    assert REVIEW <= weights["twin"] < AUTO_LINK
    assert weights["partner"] < REVIEW
    # A second call reuses the linker (and the session) and still agrees.
    again = [dict(PERSON, unique_id="again", full_name="jenny okafor")]
    jennifer = [dict(PERSON, unique_id="jennifer", full_name="jennifer okafor", email=None)]
    assert_same(linkage.score(again, jennifer, model), linkage.score(again, jennifer, model, backend="spark"))


@needs_spark
def test_a_rematch_on_spark_finds_the_pairs_duckdb_finds_with_the_same_weights(spark):
    model = linkage.load_model()
    profiles = generate(300, seed=11)
    duckdb = linkage.rematch(profiles, model, threshold_weight=REVIEW)
    before = {t.name for t in spark.catalog.listTables()}
    on_spark = linkage.rematch(profiles, model, threshold_weight=REVIEW, backend="spark")
    assert len(duckdb) > 50
    assert_same(duckdb, on_spark)
    # Nothing of the run is left in the session, which outlives it.
    assert {t.name for t in spark.catalog.listTables()} <= before


def test_a_model_with_conditions_this_version_did_not_write_is_refused_for_spark():
    settings = linkage.load_model().settings
    assert linkage._translate(settings, "duckdb", "duckdb") is settings
    respelt = linkage._translate(settings, "duckdb", "spark")
    assert respelt["sql_dialect"] == "spark"
    assert linkage._translate(respelt, "spark", "duckdb")["comparisons"] == settings["comparisons"]
    assert "`email`" in respelt["blocking_rules_to_generate_predictions"][0]["blocking_rule"]
    assert "jaro_winkler_similarity" not in str(respelt) and "list_has_any" not in str(respelt)
    older = linkage.load_model().settings
    older["comparisons"][0]["comparison_levels"][1]["sql_condition"] = "levenshtein(full_name_l, full_name_r) < 2"
    with pytest.raises(ValueError, match="retrain the model, or set CIVICFORMS_LINKAGE_BACKEND=duckdb"):
        linkage._translate(older, "duckdb", "spark")


@pytest.mark.skipif(not NO_PYSPARK, reason="pyspark is installed")
def test_without_pyspark_the_error_names_the_extra_and_the_setting():
    with pytest.raises(RuntimeError, match=r"civicforms\[spark\].*CIVICFORMS_LINKAGE_BACKEND=duckdb"):
        linkage.score([PERSON], [dict(PERSON, unique_id="x")], linkage.load_model(), backend="spark")
