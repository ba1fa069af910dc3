"""Probabilistic matching of citizen profiles with Splink (the second tier of the single customer view).

A pure module: plain dicts in, scored pairs out; no Flask, no database of ours. Splink runs on an
embedded, in-memory DuckDB (or Spark, when pyspark is installed). Splink and DuckDB cost about
200 MB resident, so import this module in the worker and the CLI, never in a web worker.

Profiles arrive normalised by the caller (see ``PROFILE_FIELDS``); ``prepare`` derives what the
comparisons need (first name and surname, the canonical first name behind a nickname, the date of
birth with day and month swapped, the postcode sector and district).

Term frequencies: ``score`` takes them from the model (``Model.term_frequencies``), computed by
``train`` over the whole population of citizen records. The candidates a worker scores against
are a blocked sample (all sharing a surname, a postcode...), so frequencies taken from them would
call the commonest surname in the batch rare or common by accident of blocking; the population is
the right basis. Values outside the stored tables get no adjustment (the level's average weight).
``rematch`` runs over the whole population, so Splink derives the frequencies from its input.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from runtime.nicknames import canonical_first_name, first_name_forms

Backend = Literal["duckdb", "spark"]
Progress = Callable[[str, int, int], None]

DEFAULT_MODEL_PATH = Path(__file__).with_name("linkage_model.json")
BACKEND_SETTING = "CIVICFORMS_LINKAGE_BACKEND"

PROFILE_FIELDS = (
    "unique_id",
    "full_name",
    "date_of_birth",
    "email",
    "phone",
    "postcode",
    "nhs_number",
    "ni_number",
)
EVIDENCE_FIELDS = ("name", "date_of_birth", "email", "phone", "postcode", "nhs_number", "ni_number")
TF_COLUMNS = ("full_name", "name_canonical", "postcode")
# Keep the most frequent values per column in the model; rarer values get no adjustment.
TF_TABLE_SIZE = 300
# Longer values are cut: no real name is this long, and edit distances are quadratic in length.
MAX_FIELD_LENGTH = 100
MODEL_FORMAT = 1
# Expectation maximisation runs once per key, each time over the pairs sharing it.
EM_TRAINING_KEYS = (("date_of_birth",), ("postcode",), ("surname", "first_name_canonical"))
MIN_EM_PAIRS = 50

# Blocking rules as plain data: each rule is a list of (left column, right column) equalities over
# prepared profiles (see ``prepare``), so the lead can look candidates up with the same keys in SQL.
BLOCKING_RULES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("email", (("email", "email"),)),
    ("phone", (("phone", "phone"),)),
    ("nhs_number", (("nhs_number", "nhs_number"),)),
    ("ni_number", (("ni_number", "ni_number"),)),
    ("date_of_birth+postcode", (("date_of_birth", "date_of_birth"), ("postcode", "postcode"))),
    ("surname+date_of_birth", (("surname", "surname"), ("date_of_birth", "date_of_birth"))),
    ("first_name_canonical+postcode", (("first_name_canonical", "first_name_canonical"), ("postcode", "postcode"))),
    ("date_of_birth_swapped", (("date_of_birth", "dob_swapped"),)),
    # Someone who moved and changed email and phone, at a service that asks no date of birth: only
    # the name is left to find them by (scored low unless the rest agrees; see ``_comparisons``).
    ("full_name", (("full_name", "full_name"),)),
)


@dataclass(frozen=True)
class Scored:
    """One scored pair: the weight of evidence that two profiles are the same citizen, field by field."""

    left_id: str
    right_id: str
    match_weight: float
    match_probability: float
    evidence: dict[str, dict[str, Any]]


@dataclass
class Model:
    """A trained Splink model (settings with m and u values) and the population's term frequencies."""

    settings: dict[str, Any]
    term_frequencies: dict[str, dict[str, float]] = field(default_factory=dict)
    _scorers: dict[str, _Scorer] = field(default_factory=dict, repr=False, compare=False)

    def to_json(self) -> str:
        """The model as deterministic JSON (sorted keys, rounded numbers)."""
        data = {"format": MODEL_FORMAT, "splink_settings": self.settings, "term_frequencies": self.term_frequencies}
        return json.dumps(_rounded(data), indent=1, sort_keys=True) + "\n"

    def save(self, path: str | Path) -> None:
        """Write the model to a JSON file."""
        Path(path).write_text(self.to_json(), encoding="utf-8")


def load_model(path: str | Path | None = None) -> Model:
    """Read a model file (by default the shipped runtime/linkage_model.json)."""
    data = json.loads(Path(path or DEFAULT_MODEL_PATH).read_text(encoding="utf-8"))
    if data.get("format") != MODEL_FORMAT:
        raise ValueError(f"unsupported linkage model format {data.get('format')!r}")
    return Model(settings=data["splink_settings"], term_frequencies=data.get("term_frequencies", {}))


# ---------------------------------------------------------------------------------------------
# Preparing profiles
# ---------------------------------------------------------------------------------------------


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).replace("\x00", "").strip()[:MAX_FIELD_LENGTH]
    return text or None


def prepare(profile: dict[str, Any]) -> dict[str, str | None]:
    """The columns Splink compares, derived from one normalised profile."""
    row: dict[str, str | None] = {name: _clean(profile.get(name)) for name in PROFILE_FIELDS}
    row["unique_id"] = str(profile.get("unique_id"))
    tokens = (row["full_name"] or "").split()
    row["first_name"] = tokens[0] if tokens else None
    row["surname"] = tokens[-1] if len(tokens) > 1 else None
    row["first_name_canonical"] = canonical_first_name(row["first_name"])
    # Every given name the first name may stand for ("jon": john, jon, jonathan), for the name levels.
    row["first_names"] = " ".join(first_name_forms(row["first_name"])) or None
    # The name with the nickname undone ("bill smith": "william smith"), for its term frequency.
    row["name_canonical"] = f"{row['first_name_canonical']} {row['surname']}" if row["surname"] else None
    row["name_sorted"] = " ".join(sorted(tokens)) or None
    dob = row["date_of_birth"]
    row["dob_swapped"] = None
    if dob and len(dob) == 10 and dob[4] == "-" and dob[7] == "-":
        month, day = dob[5:7], dob[8:10]
        if day != month and day.isdigit() and int(day) <= 12:
            row["dob_swapped"] = f"{dob[:4]}-{day}-{month}"
    email = row["email"]
    row["email_local"] = email.split("@", 1)[0] if email and "@" in email else None
    postcode = row["postcode"]
    # Inward code is the last three characters: sector keeps its digit, district drops it.
    row["postcode_sector"] = postcode[:-2] if postcode and len(postcode) >= 5 else None
    row["postcode_district"] = postcode[:-3] if postcode and len(postcode) >= 5 else None
    return row


def blocking_keys(profile: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """The values of each blocking rule's left-hand columns for one profile (rules with a missing value are left out).

    To find candidates for a profile, look up records whose right-hand columns equal these values.
    """
    row = prepare(profile)
    keys: dict[str, tuple[str, ...]] = {}
    for name, pairs in BLOCKING_RULES:
        values = tuple(row[left] for left, _ in pairs)
        if all(values):
            keys[name] = values  # type: ignore[assignment]
    return keys


def blocking_rules(backend: Backend = "duckdb") -> list[str]:
    """The blocking rules as Splink SQL conditions (``l.`` and ``r.`` columns of prepared profiles)."""
    q = _SQL[backend].quote
    rules = []
    for _, pairs in BLOCKING_RULES:
        rules.append(" AND ".join(f"l.{q}{left}{q} = r.{q}{right}{q}" for left, right in pairs))
    return rules


# ---------------------------------------------------------------------------------------------
# The comparisons
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sql:
    """The spellings that differ between Splink's backends; everything else is SQL both accept.

    Splink runs a comparison's SQL as written in the backend's dialect, and sqlglot's translation of
    these from DuckDB is wrong (``list_has_any`` becomes ``&&``, Spark's boolean AND), so each
    backend gets its own spelling. The model file keeps the DuckDB SQL (see ``_for_backend``).
    """

    quote: str
    any_word_shared: str  # with {a} and {b}: whether two space-separated lists share a word
    jaro_winkler: str
    damerau_levenshtein: str


_SQL: dict[str, _Sql] = {
    "duckdb": _Sql(
        quote='"',
        any_word_shared="list_has_any(string_split({a}, ' '), string_split({b}, ' '))",
        jaro_winkler="jaro_winkler_similarity",
        damerau_levenshtein="damerau_levenshtein",
    ),
    # Spark has neither string metric: Splink's jar (``_spark_session`` loads it, SparkAPI registers
    # its functions) has both, the same metrics as DuckDB's (true Damerau-Levenshtein, Winkler's 0.1 prefix).
    "spark": _Sql(
        quote="`",
        any_word_shared="arrays_overlap(split({a}, ' '), split({b}, ' '))",
        jaro_winkler="jaro_winkler",
        damerau_levenshtein="damerau_levenshtein",
    ),
}


def _null(column: str, sql: _Sql) -> dict[str, Any]:
    q = sql.quote
    return {
        "sql_condition": f"{q}{column}_l{q} IS NULL OR {q}{column}_r{q} IS NULL",
        "label_for_charts": "missing",
        "is_null_level": True,
    }


def _level(sql: str, label: str, tf: str | None = None, **extra: Any) -> dict[str, Any]:
    level: dict[str, Any] = {"sql_condition": sql, "label_for_charts": label, **extra}
    if tf:
        level["tf_adjustment_column"] = tf
        level["tf_adjustment_weight"] = 1.0
    return level


def _else(label: str = "different", **extra: Any) -> dict[str, Any]:
    return {"sql_condition": "ELSE", "label_for_charts": label, **extra}


# The share of one person's submissions giving another email address than an earlier one.
EMAIL_CHANGED = 0.1


def _same_first_name(sql: _Sql) -> str:
    return sql.any_word_shared.format(a="first_names_l", b="first_names_r")


def _first_names_differ(sql: _Sql) -> str:
    """Two people whose first names clearly differ (twins, a couple, a parent and child)."""
    return (
        f"(NOT {_same_first_name(sql)}"
        f" AND {sql.jaro_winkler}(first_name_canonical_l, first_name_canonical_r) < 0.8"
        f" AND {sql.damerau_levenshtein}(first_name_canonical_l, first_name_canonical_r) > 2"
        " AND name_sorted_l <> name_sorted_r)"
    )


# The weight (log2 m/u) of a contact detail shared between people whose first names differ.
# Together, email, phone and address (10 + 9 + 9) outweigh a different first name (about -9) and
# the prior (about -14) just enough to reach the review band: a household's twins, a couple with a
# date of birth missing, or one person under a nickname no list knows are put to staff; with a
# different date of birth as well (a couple, a parent and child) the pair stays below review. The
# decision rule never joins a pair whose names disagree, whatever the total.
HOUSEHOLD_WEIGHTS = {"email": 10.0, "phone": 9.0, "postcode": 9.0}


def _household_level(column: str) -> dict[str, Any]:
    u = 0.0001
    return _level(
        f"{column}_l = {column}_r",
        "shared by people with different first names",
        m_probability=u * 2 ** HOUSEHOLD_WEIGHTS[column],
        u_probability=u,
        fix_m_probability=True,
        fix_u_probability=True,
    )


def _shared_by_household(column: str, sql: _Sql) -> list[dict[str, Any]]:
    """An exact level for ``column`` split in two: agreement, and a contact detail shared by a household.

    Fellegi-Sunter multiplies independent evidence, but a household shares its email, phone and
    address: twins would collect all three full agreements. Agreement between people whose first
    names differ is therefore a level of its own, fixed at a smaller weight (``HOUSEHOLD_WEIGHTS``).
    """
    return [
        _level(f"{column}_l = {column}_r AND NOT coalesce({_first_names_differ(sql)}, false)", "exact"),
        _household_level(column),
    ]


def _comparisons(backend: Backend = "duckdb") -> list[dict[str, Any]]:
    sql = _SQL[backend]
    jw, dl = sql.jaro_winkler, sql.damerau_levenshtein
    first_close = (
        f"({_same_first_name(sql)}"
        f" OR {jw}(first_name_canonical_l, first_name_canonical_r) >= 0.88"
        f" OR {dl}(first_name_canonical_l, first_name_canonical_r) <= 1)"
    )
    surname_close = f"({jw}(surname_l, surname_r) >= 0.9 OR {dl}(surname_l, surname_r) <= 1)"
    return [
        {
            "output_column_name": "name",
            "comparison_description": "full name",
            "comparison_levels": [
                _null("full_name", sql),
                _level("full_name_l = full_name_r", "exact", tf="full_name"),
                _level(
                    f"{_same_first_name(sql)} AND surname_l = surname_r",
                    "same first name or nickname, same surname",
                    # How common the name is with the nickname undone ("bill smith" as "william
                    # smith"), against this level's own u: the surname's frequency alone would
                    # weigh a common surname as if the first names were a coincidence too.
                    tf="name_canonical",
                    disable_tf_exact_match_detection=True,
                ),
                _level("name_sorted_l = name_sorted_r", "same names in another order"),
                _level(f"{first_close} AND {surname_close}", "typo in first name or surname"),
                # One side gave a single name ("thompson", "ollie thompson"): not the twins pattern.
                _level(
                    "(surname_l IS NULL OR surname_r IS NULL)"
                    f" AND {sql.any_word_shared.format(a='full_name_l', b='full_name_r')}",
                    "one name given, found in the other",
                ),
                # A different first name is the one thing that tells twins apart: its m is fixed low
                # rather than learned, since EM would read a household's twins as typos.
                _else("different", m_probability=0.002, fix_m_probability=True),
            ],
        },
        {
            "output_column_name": "date_of_birth",
            "comparison_description": "date of birth",
            "comparison_levels": [
                _null("date_of_birth", sql),
                _level("date_of_birth_l = date_of_birth_r", "exact"),
                _level("date_of_birth_l = dob_swapped_r", "day and month swapped"),
                _level(f"{dl}(date_of_birth_l, date_of_birth_r) <= 1", "one character typo"),
                _level(
                    "substr(date_of_birth_l, 6) = substr(date_of_birth_r, 6)"
                    " AND abs(try_cast(substr(date_of_birth_l, 1, 4) AS INTEGER)"
                    " - try_cast(substr(date_of_birth_r, 1, 4) AS INTEGER)) = 1",
                    "year off by one",
                ),
                _else(),
            ],
        },
        {
            "output_column_name": "email",
            "comparison_description": "email address",
            "comparison_levels": [
                _null("email", sql),
                *_shared_by_household("email", sql),
                # The same local part at another provider; a shared domain alone says nothing.
                _level("email_local_l = email_local_r", "same local part"),
                # People change email address (a new provider, a new job): fixed, since the training
                # data cannot tell a changed address from a different person's.
                _else(m_probability=EMAIL_CHANGED, fix_m_probability=True),
            ],
        },
        {
            "output_column_name": "phone",
            "comparison_description": "phone number",
            "comparison_levels": [_null("phone", sql), *_shared_by_household("phone", sql), _else()],
        },
        {
            "output_column_name": "postcode",
            "comparison_description": "postcode",
            "comparison_levels": [
                _null("postcode", sql),
                _level(
                    f"postcode_l = postcode_r AND NOT coalesce({_first_names_differ(sql)}, false)",
                    "exact",
                    tf="postcode",
                ),
                _household_level("postcode"),
                _level("postcode_sector_l = postcode_sector_r", "same sector"),
                _level("postcode_district_l = postcode_district_r", "same district"),
                _else(),
            ],
        },
        {
            "output_column_name": "nhs_number",
            "comparison_description": "NHS number",
            "comparison_levels": [
                _null("nhs_number", sql),
                _level("nhs_number_l = nhs_number_r", "exact"),
                # A different NHS number means a different person barring a keying error: fixed, not learned.
                _else(m_probability=0.0001, fix_m_probability=True),
            ],
        },
        {
            "output_column_name": "ni_number",
            "comparison_description": "National Insurance number",
            "comparison_levels": [
                _null("ni_number", sql),
                _level("ni_number_l = ni_number_r", "exact"),
                _else(m_probability=0.0001, fix_m_probability=True),
            ],
        },
    ]


def base_settings(backend: Backend = "duckdb") -> dict[str, Any]:
    """Untrained Splink settings: the comparisons and blocking rules, without m and u values."""
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": 0.0001,
        "comparisons": _comparisons(backend),
        "blocking_rules_to_generate_predictions": blocking_rules(backend),
        "retain_intermediate_calculation_columns": True,
        "retain_matching_columns": False,
        "sql_dialect": backend,
    }


def _translate(settings: dict[str, Any], source: Backend, target: Backend) -> dict[str, Any]:
    """``settings`` with each SQL condition this module wrote for ``source`` spelt for ``target``.

    Model files hold DuckDB SQL, whichever backend trained them, so one file serves every backend.
    Conditions are matched whole against what ``_comparisons`` and ``blocking_rules`` write; one
    they did not write (a model from an older version) is refused rather than guessed at.
    """
    if source == target:
        return settings
    spelt: dict[str, str] = dict(zip(blocking_rules(source), blocking_rules(target), strict=True))
    for old, new in zip(_comparisons(source), _comparisons(target), strict=True):
        for old_level, new_level in zip(old["comparison_levels"], new["comparison_levels"], strict=True):
            spelt[old_level["sql_condition"]] = new_level["sql_condition"]

    def respell(sql: str) -> str:
        if sql not in spelt:
            raise ValueError(
                f"the linkage model holds a condition this version cannot run on {target}: {sql[:120]!r}; "
                f"retrain the model, or set {BACKEND_SETTING}={source}"
            )
        return spelt[sql]

    result = json.loads(json.dumps(settings))
    for comparison in result["comparisons"]:
        for level in comparison["comparison_levels"]:
            level["sql_condition"] = respell(level["sql_condition"])
    rules: list[str | dict[str, Any]] = []
    for rule in result.get("blocking_rules_to_generate_predictions", []):
        if isinstance(rule, dict):
            rules.append({**rule, "blocking_rule": respell(rule["blocking_rule"]), "sql_dialect": target})
        else:
            rules.append(respell(rule))
    result["blocking_rules_to_generate_predictions"] = rules
    result["sql_dialect"] = target
    return result


# ---------------------------------------------------------------------------------------------
# Backends
# ---------------------------------------------------------------------------------------------


def _db_api(backend: str) -> Any:
    if backend == "duckdb":
        from splink import DuckDBAPI

        return DuckDBAPI()
    if backend == "spark":
        try:
            from splink.backends.spark import SparkAPI
        except ImportError as error:
            raise RuntimeError(
                f"{BACKEND_SETTING}=spark needs pyspark, which is not installed; "
                f"install it (pip install civicforms[spark]) or set {BACKEND_SETTING}=duckdb"
            ) from error
        session = spark_session()
        # Splink keeps its intermediate tables as parquet in the checkpoint directory when there is
        # one (a cluster's shared storage), else in the executors' memory.
        has_checkpoints = not session.sparkContext._jsc.sc().getCheckpointDir().isEmpty()
        return SparkAPI(spark_session=session, break_lineage_method="parquet" if has_checkpoints else "persist")
    raise ValueError(f"unknown linkage backend {backend!r}: set {BACKEND_SETTING} to duckdb or spark")


def _on_duckdb(db_api: Any) -> bool:
    # Not ``hasattr(db_api, "duckdb_con")``: every Splink backend keeps a DuckDB connection of its own.
    return db_api.sql_dialect.sql_dialect_str == "duckdb"


def spark_session() -> Any:
    """The active Spark session, or a new one (``spark.*`` settings as Spark reads them) with Splink's jar.

    The jar holds the string metrics the comparisons use (``_SQL``). A session started elsewhere
    must have it on its classpath: ``spark.jars`` set to ``splink.backends.spark.similarity_jar_location()``.
    """
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    session = SparkSession.getActiveSession()
    if session is None:
        session = (
            SparkSession.builder.appName("civicforms-linkage")
            .config("spark.jars", similarity_jar_location())
            .getOrCreate()
        )
    return session


def _arrow(rows: list[dict[str, Any]]) -> Any:
    import pyarrow as pa

    columns = list(rows[0])
    return pa.table(
        {
            name: pa.array([row[name] for row in rows], type=pa.float64() if name.startswith("tf_") else pa.string())
            for name in columns
        }
    )


_EMPTY_ROW_ID = "__civicforms_placeholder__"


def _table_name(part: str) -> str:
    # Unique: a Spark session's temporary views are shared by every linker on it (DuckDB's are not).
    return f"civicforms_{part}_{secrets.token_hex(4)}"


def _release(linker: Any) -> None:
    """Drop what a rematch or training run left in a Spark session, which outlives the run (DuckDB's does not)."""
    db_api = linker._db_api
    if _on_duckdb(db_api):
        return
    # Splink's own list of created tables misses some (its blocked pairs); every query it ran is in the cache's log.
    executed = {table.physical_name for table in db_api._intermediate_table_cache.executed_queries}
    for name in executed | db_api._created_tables | db_api._registered_table_names:
        db_api.spark.catalog.dropTempView(name)  # and uncaches it


class _Scorer:
    """A linker built once per model and backend, reused by every ``score`` call (construction is the cost)."""

    def __init__(self, model: Model, backend: str) -> None:
        from splink import Linker

        self.lock = threading.Lock()
        self.db_api = _db_api(backend)
        placeholder = prepare({"unique_id": _EMPTY_ROW_ID})
        for column in TF_COLUMNS:
            placeholder[f"tf_{column}"] = None
        self.names = {part: _table_name(part) for part in ("placeholder", "left", "right")}
        table = self.db_api.register(_arrow([placeholder]), table_name=self.names["placeholder"])
        settings = _translate(model.settings, "duckdb", backend)  # type: ignore[arg-type]
        self.linker = Linker(table, settings, log_level=None, validate_settings=False)
        self.settings_obj = self.linker._settings_obj
        self.levels = _level_labels(self.settings_obj)
        self.term_frequencies = model.term_frequencies
        self.query: str | None = None

    def _register(self, name: str, rows: list[dict[str, Any]]) -> Any:
        table = _arrow(rows)
        if _on_duckdb(self.db_api):
            self.db_api.duckdb_con.register(name, table)
            return self.db_api.table_to_splink_dataframe(name, name)
        self.db_api.spark.createDataFrame(table).createOrReplaceTempView(name)
        return self.db_api.table_to_splink_dataframe(name, name)

    def score(self, left: list[dict[str, Any]], right: list[dict[str, Any]]) -> list[Scored]:
        with self.lock:
            left_df = self._register(self.names["left"], left)
            right_df = self._register(self.names["right"], right)
            if self.query is not None:
                # Splink's SQL for these two tables never changes: generating it (sqlglot) costs most of a
                # small call, so the first call's SQL is replayed over the newly registered rows.
                return _scored_from_rows(self.db_api.duckdb_con.sql(self.query).fetchall(), self.levels)
            predictions = self.linker.inference.score_pairs(left_df, right_df)
            try:
                if _on_duckdb(self.db_api):
                    available = set(
                        self.db_api.duckdb_con.sql(f"SELECT * FROM {predictions.physical_name} LIMIT 0").columns
                    )
                    self.query = f"SELECT {_evidence_select(available)} FROM ({predictions.sql_used_to_create})"
                return _collect(self.db_api, predictions, self.levels)
            finally:
                predictions.drop_table_from_database_and_remove_from_cache()


def _level_labels(settings_obj: Any) -> dict[str, dict[int, tuple[str, str]]]:
    """For each comparison, comparison vector value -> (agree|close|disagree|missing, Splink's label)."""
    labels: dict[str, dict[int, tuple[str, str]]] = {}
    for comparison in settings_obj.comparisons:
        levels = comparison.comparison_levels
        top = max(level.comparison_vector_value for level in levels)
        by_value = {}
        for level in levels:
            value = level.comparison_vector_value
            if level.is_null_level:
                kind = "missing"
            elif value == top:
                kind = "agree"
            elif value == 0:
                kind = "disagree"
            else:
                kind = "close"
            by_value[value] = (kind, level.label_for_charts)
        labels[comparison.output_column_name] = by_value
    return labels


def _with_tf(row: dict[str, Any], tables: dict[str, dict[str, float]]) -> dict[str, Any]:
    for column in TF_COLUMNS:
        value = row.get(column)
        row[f"tf_{column}"] = tables.get(column, {}).get(value) if value is not None else None
    return row


def _evidence_select(available: set[str], text: str = "VARCHAR") -> str:
    """The columns of a predictions table that ``_scored_from_rows`` reads, in its order (``text``: the string type)."""
    selects = [f"CAST(unique_id_l AS {text})", f"CAST(unique_id_r AS {text})", "match_weight", "match_probability"]
    for name in EVIDENCE_FIELDS:
        # Splink 5 reports each comparison's log2 Bayes factor, and its term-frequency adjustment, as mw_ columns.
        tf = f" + coalesce(mw_tf_adj_{name}, 0)" if f"mw_tf_adj_{name}" in available else ""
        selects += [f"gamma_{name}", f"round(coalesce(mw_{name}, 0){tf}, 4)"]
    return ", ".join(selects)


def _collect(db_api: Any, predictions: Any, levels: dict[str, dict[int, tuple[str, str]]]) -> list[Scored]:
    """Scored pairs from a Splink predictions table, reading only the columns the evidence needs."""
    if _on_duckdb(db_api):
        con = db_api.duckdb_con
        available = set(con.sql(f"SELECT * FROM {predictions.physical_name} LIMIT 0").columns)
        rows = con.sql(f"SELECT {_evidence_select(available)} FROM {predictions.physical_name}").fetchall()
        return _scored_from_rows(rows, levels)
    spark = db_api.spark
    available = set(spark.table(predictions.physical_name).columns)
    rows = spark.sql(f"SELECT {_evidence_select(available, 'STRING')} FROM {predictions.physical_name}").collect()
    return _scored_from_rows(rows, levels)


def _scored_from_rows(rows: list[tuple[Any, ...]], levels: dict[str, dict[int, tuple[str, str]]]) -> list[Scored]:
    """Scored pairs from rows of ``_evidence_select``.

    Evidence dicts are shared between pairs with the same level and weight (a batch of 200,000
    pairs holds a few hundred distinct ones): treat them as read-only.
    """
    shared: dict[tuple[str, int, float], dict[str, Any]] = {}
    tables = [levels[name] for name in EVIDENCE_FIELDS]
    results = []
    for row in rows:
        evidence = {}
        for index, name in enumerate(EVIDENCE_FIELDS):
            gamma, weight = int(row[4 + 2 * index]), float(row[5 + 2 * index])
            kind, label = tables[index][gamma]
            if kind == "missing":
                weight = 0.0
            key = (name, gamma, weight)
            item = shared.get(key)
            if item is None:
                item = shared[key] = {"level": kind, "label": label, "weight": weight}
            evidence[name] = item
        results.append(Scored(str(row[0]), str(row[1]), float(row[2]), float(row[3]), evidence))
    return results


def score(
    new: Sequence[dict[str, Any]], candidates: Sequence[dict[str, Any]], model: Model, *, backend: Backend = "duckdb"
) -> list[Scored]:
    """Score every pair of new profile x candidate, and of new x new, with the model; no blocking.

    Pairs are returned new-first: ``left_id`` is always a new profile's id.
    """
    if not new or (not candidates and len(new) < 2):
        return []
    scorer = model._scorers.get(backend)
    if scorer is None:
        scorer = model._scorers[backend] = _Scorer(model, backend)
    tables = model.term_frequencies
    left = [_with_tf(prepare(p), tables) for p in new]
    right = [_with_tf(prepare(p), tables) for p in candidates] + left
    order = {row["unique_id"]: index for index, row in enumerate(left)}
    results = []
    for scored in scorer.score(left, right):
        right_index = order.get(scored.right_id)
        if right_index is not None and right_index <= order[scored.left_id]:
            continue  # a new profile against itself, or the mirror of a new x new pair
        results.append(scored)
    results.sort(key=lambda s: -s.match_weight)
    return results


# ---------------------------------------------------------------------------------------------
# Training and rematching over a whole population
# ---------------------------------------------------------------------------------------------


def _population_linker(
    profiles: Iterable[dict[str, Any]],
    settings: dict[str, Any],
    backend: str,
    term_frequencies: dict[str, dict[str, float]] | None = None,
) -> tuple[Any, int]:
    from splink import Linker

    rows = [prepare(p) for p in profiles]
    if not rows:
        raise ValueError("no profiles to link")
    db_api = _db_api(backend)
    table = db_api.register(_arrow(rows), table_name=_table_name("profiles"))
    # The evidence needs the gamma (kept only with the matching columns) and weight columns of each comparison.
    settings = {**settings, "retain_intermediate_calculation_columns": True, "retain_matching_columns": True}
    linker = Linker(table, settings, log_level=None, validate_settings=False)
    if term_frequencies is not None:
        # With the model's term frequencies (rematch), a pair scores exactly as the worker scores it,
        # so the thresholds mean the same in both; without them (training), Splink counts its input.
        # They go in as Splink's lookup tables, not as tf_ columns of the input, which Splink would
        # join its own counts onto again (DuckDB renames the duplicate, Spark refuses it).
        import pyarrow as pa

        for column in TF_COLUMNS:
            frequencies = term_frequencies.get(column, {})
            lookup = pa.table(
                {
                    column: pa.array(list(frequencies), type=pa.string()),
                    f"tf_{column}": pa.array(list(frequencies.values()), type=pa.float64()),
                }
            )
            linker.table_management.register_term_frequency_lookup(
                db_api.register(lookup, table_name=_table_name(f"tf_{column}")), column
            )
    return linker, len(rows)


def term_frequency_tables(
    profiles: Iterable[dict[str, Any]], *, top: int = TF_TABLE_SIZE
) -> dict[str, dict[str, float]]:
    """The share of profiles holding each of the commonest values of the term-frequency columns."""
    counters: dict[str, Counter[str]] = {column: Counter() for column in TF_COLUMNS}
    totals = dict.fromkeys(TF_COLUMNS, 0)
    for profile in profiles:
        row = prepare(profile)
        for column in TF_COLUMNS:
            value = row[column]
            if value:
                counters[column][value] += 1
                totals[column] += 1
    tables: dict[str, dict[str, float]] = {}
    for column, counter in counters.items():
        common = sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:top]
        # Values seen once carry no information beyond the level's own u: leave them out.
        tables[column] = {value: count / totals[column] for value, count in common if count > 1}
    return tables


def train(
    profiles: Sequence[dict[str, Any]], *, progress: Progress | None = None, backend: Backend = "duckdb", seed: int = 16
) -> Model:
    """Train a model without labels: u by random sampling, m by expectation maximisation over blocking rules."""
    from splink import block_on

    steps = 6
    report = progress or (lambda step, done, total: None)
    report("prepare", 0, steps)
    linker, count = _population_linker(profiles, base_settings(backend), backend)
    report("prior", 1, steps)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("nhs_number"), block_on("email", "date_of_birth")], recall=0.7
    )
    report("u by random sampling", 2, steps)
    linker.training.estimate_u_using_random_sampling(max_pairs=min(2_000_000, count * 50), seed=seed)
    rows = [prepare(p) for p in profiles]
    for done, columns in enumerate(EM_TRAINING_KEYS, start=3):
        report("m by expectation maximisation", done, steps)
        # A key no pairs share (a population without postcodes) cannot train; skip it before Splink
        # starts a session (a failed session leaves the linker without that comparison).
        shared = Counter(tuple(row[c] for c in columns) for row in rows if all(row[c] for c in columns))
        if sum(n * (n - 1) // 2 for n in shared.values()) >= MIN_EM_PAIRS:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*columns), fix_u_probabilities=True
            )
    settings = _translate(linker.misc.save_model_to_json(), backend, "duckdb")
    _release(linker)
    settings.pop("linker_uid", None)
    if DEFAULT_MODEL_PATH.exists():
        _fill_unobserved(settings, load_model().settings)
    model = Model(settings=settings, term_frequencies=term_frequency_tables(profiles))
    report("done", steps, steps)
    return model


def _fill_unobserved(settings: dict[str, Any], fallback: dict[str, Any]) -> None:
    """Give levels the training data never showed (a population without postcodes) the shipped model's m and u."""
    shipped = {c["output_column_name"]: c["comparison_levels"] for c in fallback["comparisons"]}
    for comparison in settings["comparisons"]:
        known = {level["label_for_charts"]: level for level in shipped.get(comparison["output_column_name"], [])}
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            for key in ("m_probability", "u_probability"):
                if not isinstance(level.get(key), float | int) and key in known.get(level["label_for_charts"], {}):
                    level[key] = known[level["label_for_charts"]][key]


def rematch(
    profiles: Sequence[dict[str, Any]],
    model: Model,
    *,
    threshold_weight: float,
    progress: Progress | None = None,
    backend: Backend = "duckdb",
) -> list[Scored]:
    """Every pair across the whole set found by the blocking rules and scoring at least ``threshold_weight``."""
    if len(profiles) < 2:
        return []
    report = progress or (lambda step, done, total: None)
    report("prepare", 0, 3)
    settings = _translate(model.settings, "duckdb", backend)
    linker, _ = _population_linker(profiles, settings, backend, model.term_frequencies)
    report("predict", 1, 3)
    predictions = linker.inference.predict(threshold_match_weight=threshold_weight)
    report("collect", 2, 3)
    try:
        results = _collect(linker._db_api, predictions, _level_labels(linker._settings_obj))
    finally:
        _release(linker)
    results.sort(key=lambda s: -s.match_weight)
    report("done", 3, 3)
    return results


def backend_from_environment() -> Backend:
    """The backend named by CIVICFORMS_LINKAGE_BACKEND (duckdb when unset)."""
    value = os.environ.get(BACKEND_SETTING, "duckdb").strip().lower() or "duckdb"
    if value not in ("duckdb", "spark"):
        raise ValueError(f"{BACKEND_SETTING} must be duckdb or spark, not {value!r}")
    return value  # type: ignore[return-value]


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value
