"""Bad station input: every case gets a clear error, built from the real files.

Each case damages a real file the way files get damaged (cut short, wrongly named,
re-encoded, edited by hand) and checks the message a user would read: it names the
file, the line and field where that applies, the problem, and what to do (after
"->"). Synthetic text is used only for the plain CSV format (a user's own file, of
which there is no real example) and for edge cases. Config mistakes that the schema
or ``resolve_stations`` refuse at DAG-build time are in test_config.py; a bad station
among good ones in a real ``snakemake --keep-going`` run is in test_user_paths.py.

Duplicate dates are an error naming both lines (documented in config/README.md):
the reader cannot know which of the two rows is right.
"""

from __future__ import annotations

import ast
import csv
import gzip
import io
import re
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from helpers import (
    CDO,
    DEATH_VALLEY,
    MELBOURNE,
    OXFORD,
    SHARED_DATA,
    SHARED_DATA_MISSING,
    SHIONOMISAKI,
    station_file,
    value_on,
)

import weatherplot
from weatherplot.errors import StationDataError
from weatherplot.io import read_station
from weatherplot.io.ghcnd import read_ghcnd
from weatherplot.stations import load_station

SMALL = MELBOURNE  # the smallest real .dly (2535 lines)
OTHER = SHIONOMISAKI
CURRENT = CDO / "USC00042319_2021_standard.csv"  # Death Valley 2021, degF and inches
LEGACY = CDO / "USW00024233_2014_legacy.csv"  # Seattle 2014, tenths of degC and mm


def dly_lines(station: str = SMALL) -> list[bytes]:
    return gzip.decompress(station_file(station).read_bytes()).split(b"\n")[:-1]


def join(lines: list[bytes]) -> bytes:
    return b"\n".join(lines) + b"\n"


def first_line_of(lines: list[bytes], element: bytes) -> int:
    """0-based index of the first line of ``element``."""
    return next(i for i, line in enumerate(lines) if line[17:21] == element)


def csv_lines(path: Path = CURRENT) -> list[bytes]:
    return path.read_bytes().split(b"\n")


def set_field(line: bytes, column: int, text: bytes) -> bytes:
    """``line`` with ``text`` written at 0-based ``column``."""
    return line[:column] + text + line[column + len(text) :]


def cdo_rows(path: Path = CURRENT) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(), newline="")))


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    """Written as NCEI writes its current exports: every field quoted."""
    with path.open("w", newline="") as handle:
        csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return path


@dataclass
class Expect:
    problem: str  # regex
    hint: str | None  # regex on the part after "->"; None: no hint expected
    line: int | None = None
    field: str | None = None


# Each builder writes a damaged file into ``tmp`` and returns the station entry (as
# the config would give it) and the expected message parts.


def empty_dly(tmp):
    (tmp / f"{SMALL}.dly").write_bytes(b"")
    return {"file": tmp / f"{SMALL}.dly"}, Expect("file is empty", "download")


def empty_inside_gzip(tmp):
    (tmp / f"{SMALL}.dly.gz").write_bytes(gzip.compress(b""))
    return {"file": tmp / f"{SMALL}.dly.gz"}, Expect(r"empty \(after gunzip\)", "again")


def empty_csv(tmp):
    (tmp / "mine.csv").write_bytes(b"")
    return {"file": tmp / "mine.csv"}, Expect("file is empty", "download")


def cdo_header_only(tmp):
    (tmp / "dv.csv").write_bytes(csv_lines()[0] + b"\n")
    return {"file": tmp / "dv.csv", "units": "standard"}, Expect(
        "has a header but no data rows", "download"
    )


def gz_name_but_not_gzip(tmp):
    (tmp / f"{SMALL}.dly.gz").write_bytes(join(dly_lines()))
    return {"file": tmp / f"{SMALL}.dly.gz"}, Expect(
        r"name ends in \.gz but the content is not gzip", "rename the file"
    )


def truncated_gzip(tmp):
    real = station_file(SMALL).read_bytes()
    (tmp / f"{SMALL}.dly.gz").write_bytes(real[: len(real) // 2])
    return {"file": tmp / f"{SMALL}.dly.gz"}, Expect(
        "gzip data is truncated or corrupt", r"gzip -t"
    )


def corrupt_gzip(tmp):
    real = bytearray(station_file(SMALL).read_bytes())
    middle = len(real) // 2
    real[middle : middle + 64] = bytes(64)  # a block of the stream zeroed
    (tmp / f"{SMALL}.dly.gz").write_bytes(bytes(real))
    return {"file": tmp / f"{SMALL}.dly.gz"}, Expect(
        "gzip data is truncated or corrupt", r"gzip -t"
    )


def executable_bytes() -> bytes:
    """A real binary file: the start of the Python interpreter running the tests."""
    return Path(sys.executable).resolve().read_bytes()[:20000]


def binary_named_dly(tmp):
    (tmp / f"{SMALL}.dly").write_bytes(executable_bytes())
    return {"file": tmp / f"{SMALL}.dly"}, Expect("binary file", r"\.dly\(\.gz\)")


def binary_named_csv(tmp):
    (tmp / "mine.csv").write_bytes(executable_bytes())
    return {"file": tmp / "mine.csv"}, Expect("binary file", "CSV")


def binary_declared_cdo(tmp):
    (tmp / "dv.csv").write_bytes(executable_bytes())
    return {"file": tmp / "dv.csv", "format": "cdo", "units": "standard"}, Expect(
        "binary file", "CSV"
    )


def latin1_in_cdo(tmp):
    lines = csv_lines()
    lines[4] = lines[4].replace(b"DEATH VALLEY", "DÉATH VALLEY".encode("latin-1"))
    (tmp / "dv.csv").write_bytes(b"\n".join(lines))
    return {"file": tmp / "dv.csv", "units": "standard"}, Expect(
        "byte 0xc9 is not valid UTF-8", "save the file as UTF-8", line=5
    )


def latin1_in_dly(tmp):
    lines = dly_lines()
    lines[39] = set_field(lines[39], 268, "é".encode("latin-1"))  # day 31's SFLAG
    (tmp / f"{SMALL}.dly").write_bytes(join(lines))
    return {"file": tmp / f"{SMALL}.dly"}, Expect(
        "not printable ASCII", "download", line=40
    )


def dly_line_too_short(tmp):
    lines = dly_lines()
    lines[56] = lines[56][:100] + lines[56][101:]  # one character lost mid-line
    (tmp / f"{SMALL}.dly").write_bytes(join(lines))
    return {"file": tmp / f"{SMALL}.dly"}, Expect(
        "line is 268 characters long; GHCN-Daily lines are 269", "truncated", line=57
    )


def dly_line_too_long(tmp):
    lines = dly_lines()
    lines[1999] = lines[1999][:50] + b"0" + lines[1999][50:]
    (tmp / f"{SMALL}.dly").write_bytes(join(lines))
    return {"file": tmp / f"{SMALL}.dly"}, Expect(
        "line is 270 characters long", "download it again", line=2000
    )


def dly_cut_mid_line(tmp):
    lines = dly_lines()
    (tmp / f"{SMALL}.dly").write_bytes(join(lines[:999]) + lines[999][:130])
    return {"file": tmp / f"{SMALL}.dly"}, Expect(
        "line is 130 characters long", "truncated", line=1000
    )


def dly_cut_inside_day_31(tmp):
    """Cut inside day 31's VALUE: not a line stripped of its trailing blank flags."""
    lines = dly_lines()
    (tmp / f"{SMALL}.dly").write_bytes(join(lines[:999]) + lines[999][:262])
    return {"file": tmp / f"{SMALL}.dly"}, Expect(
        "line is 262 characters long", "truncated", line=1000
    )


def dly_stripped_with_a_tab(tmp):
    """A tab in a file whose lines lost their trailing blanks (read the long way)."""
    lines = [line.rstrip(b" ") for line in dly_lines()]
    lines[199] = set_field(lines[199], 100, b"\t")
    (tmp / f"{SMALL}.dly").write_bytes(join(lines))
    return {"file": tmp / f"{SMALL}.dly"}, Expect(
        "not printable ASCII", "download", line=200
    )


def mixed_station_ids(tmp):
    lines = dly_lines() + dly_lines(OTHER)
    (tmp / f"{SMALL}.dly").write_bytes(join(lines))
    return {"file": tmp / f"{SMALL}.dly"}, Expect(
        rf"holds 2 stations .*{SMALL}.*{OTHER}.*line {len(dly_lines()) + 1} starts "
        "another",
        "split the file by station id",
        line=len(dly_lines()) + 1,
        field="ID",
    )


def month_13(tmp):
    lines = dly_lines()
    i = first_line_of(lines, b"PRCP") + 100
    lines[i] = set_field(lines[i], 15, b"13")
    (tmp / f"{SMALL}.dly").write_bytes(join(lines))
    return {"file": tmp / f"{SMALL}.dly"}, Expect(
        "month 13 is out of range 1-12",
        "fix or delete it",
        line=i + 1,
        field="MONTH (columns 16-17)",
    )


def month_00(tmp):
    lines = dly_lines()
    i = first_line_of(lines, b"TMIN") + 3
    lines[i] = set_field(lines[i], 15, b"00")
    (tmp / f"{SMALL}.dly").write_bytes(join(lines))
    return {"file": tmp / f"{SMALL}.dly"}, Expect(
        "month 0 is out of range", "fix or delete", line=i + 1, field="MONTH"
    )


def dly_month_not_a_number(tmp):
    lines = dly_lines()
    i = first_line_of(lines, b"TMIN") + 5
    lines[i] = set_field(lines[i], 15, b"1?")
    (tmp / f"{SMALL}.dly").write_bytes(join(lines))
    return {"file": tmp / f"{SMALL}.dly"}, Expect(
        "MONTH '1\\?' is not an integer", "fix", line=i + 1, field="MONTH"
    )


def dly_value_not_a_number(tmp):
    lines = dly_lines()
    i = first_line_of(lines, b"TMAX") + 10
    lines[i] = set_field(lines[i], 21 + 8 * 4, b"  1O4")  # day 5: letter O, not 0
    (tmp / f"{SMALL}.dly").write_bytes(join(lines))
    return {"file": tmp / f"{SMALL}.dly"}, Expect(
        r"VALUE ' +1O4' is not an integer",
        "fix or delete",
        line=i + 1,
        field="VALUE of day 5",
    )


def dly_value_with_inner_blank(tmp):
    """' 2 17' must not be read as 2017 (nor 217): a mangled field is an error."""
    lines = dly_lines()
    i = first_line_of(lines, b"TMIN") + 20
    lines[i] = set_field(lines[i], 21 + 8 * 9, b" 2 17")  # day 10
    (tmp / f"{SMALL}.dly").write_bytes(join(lines))
    return {"file": tmp / f"{SMALL}.dly"}, Expect(
        "VALUE ' 2 17' is not an integer", "fix", line=i + 1, field="VALUE of day 10"
    )


def dly_value_with_a_colon(tmp):
    """':' is the byte after '9': not a digit."""
    lines = dly_lines()
    i = first_line_of(lines, b"TMAX") + 30
    lines[i] = set_field(lines[i], 21 + 8 * 2, b"  2:7")  # day 3
    (tmp / f"{SMALL}.dly").write_bytes(join(lines))
    return {"file": tmp / f"{SMALL}.dly"}, Expect(
        "VALUE '  2:7' is not an integer", "fix", line=i + 1, field="VALUE of day 3"
    )


def dly_minus_inside_a_value(tmp):
    """A minus sign only ever comes first: '  5-5' is no number (nor -55, nor 55)."""
    lines = dly_lines()
    i = first_line_of(lines, b"TMIN") + 40
    lines[i] = set_field(lines[i], 21 + 8 * 6, b"  5-5")  # day 7
    (tmp / f"{SMALL}.dly").write_bytes(join(lines))
    return {"file": tmp / f"{SMALL}.dly"}, Expect(
        "VALUE '  5-5' is not an integer", "fix", line=i + 1, field="VALUE of day 7"
    )


def dly_delete_byte(tmp):
    """DEL (0x7f), the byte after '~', is no printable character."""
    lines = dly_lines()
    lines[99] = set_field(lines[99], 268, b"\x7f")  # day 31's SFLAG
    (tmp / f"{SMALL}.dly").write_bytes(join(lines))
    return {"file": tmp / f"{SMALL}.dly"}, Expect(
        "not printable ASCII", "download", line=100
    )


def dly_year_not_a_number(tmp):
    lines = dly_lines()
    i = first_line_of(lines, b"PRCP")
    lines[i] = set_field(lines[i], 11, b"19?0")
    (tmp / f"{SMALL}.dly").write_bytes(join(lines))
    return {"file": tmp / f"{SMALL}.dly"}, Expect(
        "YEAR '19\\?0' is not an integer", "fix", line=i + 1, field="YEAR"
    )


def dly_duplicate_month(tmp):
    lines = dly_lines()
    lines.append(lines[first_line_of(lines, b"TMAX")])
    (tmp / f"{SMALL}.dly").write_bytes(join(lines))
    return {"file": tmp / f"{SMALL}.dly"}, Expect(
        "TMAX appears twice for the same month", "remove the duplicate", line=len(lines)
    )


def _blank_all(lines: list[bytes], offset: int, text: bytes) -> list[bytes]:
    """Write ``text`` at ``offset`` of every day of the TMAX/TMIN/PRCP lines."""
    out = []
    for line in lines:
        if line[17:21] in (b"TMAX", b"TMIN", b"PRCP"):
            for day in range(31):
                line = set_field(line, 21 + 8 * day + offset, text)
        out.append(line)
    return out


def dly_all_missing(tmp):
    (tmp / f"{SMALL}.dly").write_bytes(join(_blank_all(dly_lines(), 0, b"-9999")))
    return {"file": tmp / f"{SMALL}.dly"}, Expect(
        "no usable TMAX, TMIN or PRCP value: every value is missing$",
        "remove station 'BAD-INPUT' from the config",
    )


def dly_all_flagged(tmp):
    (tmp / f"{SMALL}.dly").write_bytes(join(_blank_all(dly_lines(), 6, b"X")))
    return {"file": tmp / f"{SMALL}.dly"}, Expect(
        r"every value is missing or failed quality control \(\d{5} flagged\)",
        "check the file",
    )


def dly_without_any_element(tmp):
    lines = [x for x in dly_lines() if x[17:21] not in (b"TMAX", b"TMIN", b"PRCP")]
    (tmp / f"{SMALL}.dly").write_bytes(join(lines))
    return {"file": tmp / f"{SMALL}.dly"}, Expect(
        "no usable TMAX, TMIN or PRCP value", "remove station"
    )


def plain_all_empty(tmp):
    (tmp / "mine.csv").write_text("date,tmax,tmin,prcp\n2020-01-01,,,\n2020-01-02,,,\n")
    return {"file": tmp / "mine.csv"}, Expect(
        "no usable TMAX, TMIN or PRCP value", "remove station"
    )


def cdo_all_flagged(tmp):
    """Every value of the real export with a failed quality check (Q flag 'X')."""
    lines = csv_lines()
    header = lines[0].rstrip(b"\r").split(b",")
    header += [b'"TMAX_ATTRIBUTES"', b'"TMIN_ATTRIBUTES"', b'"PRCP_ATTRIBUTES"']
    out = [b",".join(header)]
    out += [line + b',",X,7,",",X,7,",",X,7,"' for line in lines[1:] if line]
    (tmp / "dv.csv").write_bytes(b"\n".join(out) + b"\n")
    return {"file": tmp / "dv.csv", "units": "standard"}, Expect(
        r"failed quality control \(10\d\d flagged\)", "check the file"
    )


def cdo_without_date_column(tmp):
    lines = csv_lines()
    lines[0] = lines[0].replace(b'"DATE"', b'"DAY"')
    (tmp / "dv.csv").write_bytes(b"\n".join(lines))
    return {"file": tmp / "dv.csv", "format": "cdo", "units": "standard"}, Expect(
        "no DATE column; columns are", "export 'daily summaries' as CSV", line=1
    )


def cdo_without_elements(tmp):
    keep = [0, 1, 2, 4]  # STATION, NAME, DATE, SNOW
    write_rows(tmp / "dv.csv", [[row[k] for k in keep] for row in cdo_rows()])
    return {"file": tmp / "dv.csv", "units": "standard"}, Expect(
        "none of TMAX, TMIN, PRCP among the columns", "include TMAX", line=1
    )


def cdo_non_numeric(tmp):
    lines = csv_lines()
    lines[9] = lines[9].replace(b'"0.00","0.0","0.0","', b'"0.00","0.0","0.0","~', 1)
    (tmp / "dv.csv").write_bytes(b"\n".join(lines))
    return {"file": tmp / "dv.csv", "units": "standard"}, Expect(
        "value '~[0-9]+' is not a number",
        "leave the cell empty",
        line=10,
        field="TMAX",
    )


def cdo_latitude_not_a_number(tmp):
    lines = [line for line in csv_lines() if line]
    lines[0] += b',"LATITUDE"'
    lines[1:] = [line + b',"36.4622"' for line in lines[1:]]
    lines[1] = lines[1].replace(b'"36.4622"', b'"36N"')
    (tmp / "dv.csv").write_bytes(b"\n".join(lines) + b"\n")
    return {"file": tmp / "dv.csv", "units": "standard"}, Expect(
        "LATITUDE '36N' is not a number",
        "export it again",
        line=2,
        field="LATITUDE",
    )


def cdo_unparseable_date(tmp):
    lines = csv_lines()
    lines[19] = lines[19].replace(b'"2021-01-19"', b'"01/19/2021"')
    (tmp / "dv.csv").write_bytes(b"\n".join(lines))
    return {"file": tmp / "dv.csv", "units": "standard"}, Expect(
        "date '01/19/2021' cannot be read as Y-m-d",
        "write dates as 2021-01-31",
        line=20,
        field="DATE",
    )


def cdo_impossible_date(tmp):
    lines = csv_lines()
    lines[59] = lines[59].replace(b'"2021-02-28"', b'"2021-02-30"')
    (tmp / "dv.csv").write_bytes(b"\n".join(lines))
    return {"file": tmp / "dv.csv", "units": "standard"}, Expect(
        "date '2021-02-30' cannot be read", "2021-01-31", line=60, field="DATE"
    )


def cdo_duplicate_date(tmp):
    lines = [x for x in csv_lines() if x]
    lines.append(lines[49])  # 2021-02-18 again, at the end (line 367)
    (tmp / "dv.csv").write_bytes(b"\n".join(lines) + b"\n")
    return {"file": tmp / "dv.csv", "units": "standard"}, Expect(
        r"date 2021-02-18 appears twice \(also on line 50\); a daily file needs one "
        "row per day",
        "delete one of the two rows",
        line=367,
        field="DATE",
    )


def cdo_cut_mid_line(tmp):
    """An interrupted download: the last row stops after the SNOW column."""
    lines = csv_lines()
    (tmp / "dv.csv").write_bytes(b"\n".join(lines[:100]) + b"\n" + lines[100][:75])
    return {"file": tmp / "dv.csv", "units": "standard"}, Expect(
        "row has 5 fields but the header has 9", "truncated", line=101
    )


def cdo_legacy_duplicate_date_after_blank_line(tmp):
    """Line numbers stay right across a blank line."""
    lines = [x for x in csv_lines(LEGACY) if x]
    lines = [*lines[:10], b"", *lines[10:], lines[3]]
    (tmp / "sea.csv").write_bytes(b"\n".join(lines) + b"\n")
    return {"file": tmp / "sea.csv", "units": "metric"}, Expect(
        r"date 20140103 appears twice \(also on line 4\)",
        "delete one",
        line=len(lines),
        field="DATE",
    )


def cdo_without_units(tmp):
    return {"file": CURRENT}, Expect(
        r"do not say their units \(units=None\)",
        "'units: metric'.*'units: standard'",
        field="units",
    )


def degf_declared_metric(tmp):
    return {"file": CURRENT, "units": "metric"}, Expect(
        r"TMAX of 71\.0 degC \(read as metric units\) is physically implausible",
        "set 'units: standard'",
        line=2,
        field="TMAX",
    )


def inches_declared_mm(tmp):
    """The real export without its temperatures (a precipitation-only export): 2021
    in Death Valley never rains an implausible amount, even read as mm."""
    write_rows(tmp / "dv_prcp.csv", [row[:4] for row in cdo_rows()])
    return {"file": tmp / "dv_prcp.csv", "units": "metric"}, Expect(
        r"365 of the 365 PRCP values are written to hundredths \(as '0.19' here\), "
        "as NCEI writes inches",
        "set 'units: standard'",
        line=26,
        field="PRCP",
    )


def current_metric_export(tmp) -> Path:
    """The real Seattle 2014 legacy export rewritten as a current metric export
    (degC and mm to tenths, as NCEI writes them)."""
    legacy = cdo_rows(LEGACY)
    columns = [legacy[0].index(c) for c in ("PRCP", "TMAX", "TMIN")]
    rows = [["STATION", "NAME", "DATE", "PRCP", "TMAX", "TMIN"]]
    for row in legacy[1:]:
        day = row[2]
        cells = [row[0].removeprefix("GHCND:"), row[1]]
        cells.append(f"{day[:4]}-{day[4:6]}-{day[6:]}")
        for k in columns:
            cells.append("" if row[k] == "-9999" else f"{int(row[k]) / 10:.1f}")
        rows.append(cells)
    return write_rows(tmp / "sea_metric.csv", rows)


def mm_declared_inches(tmp):
    """Seattle 2014 in degC and mm, declared standard: its temperatures read as degF
    and its rain as inches are all plausible; how the rain is written is not."""
    return {"file": current_metric_export(tmp), "units": "standard"}, Expect(
        r"PRCP values are written to tenths \(as '0.0' here\), as NCEI writes "
        "millimetres",
        "set 'units: metric'",
        line=2,
        field="PRCP",
    )


def legacy_declared_standard(tmp):
    return {"file": LEGACY, "units": "standard"}, Expect(
        "legacy CDO exports are read in metric tenths only",
        "set 'units: metric'",
        field="units",
    )


def cdo_other_station(tmp):
    """Two real exports in one file, and the config's id is neither."""
    dv = cdo_rows()
    seattle = cdo_rows(current_metric_export(tmp))
    header = dv[0]
    rows = [header, *dv[1:5]]
    for row in seattle[1:5]:
        by_name = dict(zip(seattle[0], row, strict=True))
        rows.append([by_name.get(column, "") for column in header])
    write_rows(tmp / "two.csv", rows)
    return {"file": tmp / "two.csv", "units": "standard"}, Expect(
        r"holds 2 stations \(USC00042319, USW00024233\) and none is the configured "
        "id 'BAD-INPUT'",
        "set the station's id to one of these",
        field="STATION",
    )


def unknown_format(tmp):
    (tmp / "notes.txt").write_text("Station notes\nTMAX was high\n")
    return {"file": tmp / "notes.txt"}, Expect(
        r"cannot tell the format from the first line 'Station notes'",
        "set 'format'.*ghcnd.*cdo.*plain",
        line=1,
    )


def plain_missing_columns(tmp):
    (tmp / "mine.csv").write_text("day,high,low\n2020-01-01,10,2\n")
    return {"file": tmp / "mine.csv", "format": "plain"}, Expect(
        r"columns are \['day', 'high', 'low'\]; a plain station CSV needs 'date'",
        "date,tmax,tmin,prcp",
        line=1,
    )


def plain_non_numeric(tmp):
    (tmp / "mine.csv").write_text(
        "date,tmax,tmin,prcp\n2020-01-01,10,2,0\n2020-01-02,warm,3,0\n"
    )
    return {"file": tmp / "mine.csv"}, Expect(
        "value 'warm' is not a number", "leave the cell empty", line=3, field="tmax"
    )


def plain_bad_date(tmp):
    (tmp / "mine.csv").write_text("date,tmax,tmin,prcp\n31/01/2020,10,2,0\n")
    return {"file": tmp / "mine.csv"}, Expect(
        "date '31/01/2020' cannot be read as Y-m-d",
        "write dates as 2021-01-31",
        line=2,
        field="date",
    )


def plain_duplicate_date(tmp):
    (tmp / "mine.csv").write_text(
        "date,tmax,tmin,prcp\n2020-01-01,10,2,0\n2020-01-02,11,3,0\n2020-01-01,12,4,1\n"
    )
    return {"file": tmp / "mine.csv"}, Expect(
        r"date 2020-01-01 appears twice \(also on line 2\)",
        "delete one of the two rows",
        line=4,
        field="date",
    )


def plain_extra_field(tmp):
    (tmp / "mine.csv").write_text(
        "date,tmax,tmin,prcp\n2020-01-01,10,2,0\n2020-01-02,1,1,3,0\n"
    )
    return {"file": tmp / "mine.csv"}, Expect(
        "row has 5 fields but the header has 4", "empty field", line=3
    )


def file_vanished(tmp):
    """Deleted (or its disk unmounted) after the DAG was built."""
    return {"file": tmp / f"{SMALL}.dly.gz"}, Expect("file not found", "'file'")


def a_directory(tmp):
    (tmp / f"{SMALL}.dly.gz").mkdir()
    return {"file": tmp / f"{SMALL}.dly.gz"}, Expect(
        "is a directory, not a station file", "point 'file' at"
    )


def format_not_known(tmp):
    """Only from Python (the schema refuses it in a config)."""
    return {"file": station_file(SMALL), "format": "xlsx"}, Expect(
        "unknown format 'xlsx'", "ghcnd, cdo, plain", field="format"
    )


def plain_only_blank_lines(tmp):
    (tmp / "mine.csv").write_text("\n\n\n")
    return {"file": tmp / "mine.csv", "format": "plain"}, Expect(
        "has no header and no rows", "download"
    )


def plain_only_blanks(tmp):
    """Blanks on a line: a row for Python's csv module, nothing for pandas."""
    (tmp / "mine.csv").write_text("   \n\n")
    return {"file": tmp / "mine.csv", "format": "plain"}, Expect(
        "has no header and no rows", "download"
    )


def plain_field_too_large(tmp):
    """Lines run together (a lost newline every time): one giant field."""
    (tmp / "mine.csv").write_text("date,tmax,tmin,prcp\n2020-01-01," + "1" * 200_000)
    return {"file": tmp / "mine.csv"}, Expect(
        r"not a well-formed CSV table \(field larger than field limit",
        "download",
        line=2,
    )


def cdo_with_prcp(tmp, day: int, inches: str) -> Path:
    """The real export with the PRCP of one day (1-based row) replaced."""
    rows = cdo_rows()
    rows[day][rows[0].index("PRCP")] = inches
    return write_rows(tmp / "dv.csv", rows)


def cdo_negative_prcp(tmp):
    return {"file": cdo_with_prcp(tmp, 40, "-0.50"), "units": "standard"}, Expect(
        "PRCP of -12.7 mm is negative", "check the file", line=41, field="PRCP"
    )


def cdo_prcp_beyond_the_world_record(tmp):
    """99 inches in one day (the record is ~1825 mm): not inches after all?"""
    return {"file": cdo_with_prcp(tmp, 40, "99.00"), "units": "standard"}, Expect(
        r"PRCP of 2515 mm in one day \(read as standard units\) is beyond the world",
        "units",
        line=41,
        field="PRCP",
    )


CASES = [
    empty_dly,
    empty_inside_gzip,
    empty_csv,
    cdo_header_only,
    gz_name_but_not_gzip,
    truncated_gzip,
    corrupt_gzip,
    binary_named_dly,
    binary_named_csv,
    binary_declared_cdo,
    latin1_in_cdo,
    latin1_in_dly,
    dly_line_too_short,
    dly_line_too_long,
    dly_cut_mid_line,
    dly_cut_inside_day_31,
    dly_stripped_with_a_tab,
    mixed_station_ids,
    month_13,
    month_00,
    dly_month_not_a_number,
    dly_value_not_a_number,
    dly_value_with_inner_blank,
    dly_value_with_a_colon,
    dly_minus_inside_a_value,
    dly_delete_byte,
    dly_year_not_a_number,
    dly_duplicate_month,
    dly_all_missing,
    dly_all_flagged,
    dly_without_any_element,
    plain_all_empty,
    cdo_all_flagged,
    cdo_without_date_column,
    cdo_without_elements,
    cdo_non_numeric,
    cdo_latitude_not_a_number,
    cdo_unparseable_date,
    cdo_impossible_date,
    cdo_duplicate_date,
    cdo_cut_mid_line,
    cdo_legacy_duplicate_date_after_blank_line,
    cdo_without_units,
    degf_declared_metric,
    inches_declared_mm,
    mm_declared_inches,
    legacy_declared_standard,
    cdo_other_station,
    unknown_format,
    plain_missing_columns,
    plain_non_numeric,
    plain_bad_date,
    plain_duplicate_date,
    plain_extra_field,
    file_vanished,
    a_directory,
    format_not_known,
    plain_only_blank_lines,
    plain_only_blanks,
    plain_field_too_large,
    cdo_negative_prcp,
    cdo_prcp_beyond_the_world_record,
]


@pytest.mark.parametrize("build", CASES, ids=[c.__name__ for c in CASES])
def test_bad_input_is_refused_with_a_clear_message(tmp_path, build):
    entry, expect = build(tmp_path)
    info = {"id": "BAD-INPUT", **entry, "file": str(entry["file"])}
    with pytest.raises(StationDataError) as caught:
        load_station(info)
    error = caught.value
    message = str(error)
    # Where: the file first, then the line and field when they apply.
    where, _, rest = message.partition(": ")
    assert where.split(", ")[0] == info["file"], message
    if expect.line is None:
        assert error.line is None and ", line " not in where, message
    else:
        assert error.line == expect.line, message
        assert f", line {expect.line}" in where, message
    if expect.field is None:
        assert error.field is None, message
    else:
        assert error.field.startswith(expect.field), message
        assert f"field {error.field!r}" in where, message
    # What is wrong, then what to do.
    problem, _, hint = rest.partition(" -> ")
    assert re.search(expect.problem, problem), message
    assert hint and re.search(expect.hint, hint), message


def raise_sites() -> dict[tuple[str, int], str]:
    """Every ``raise StationDataError(...)`` in the readers, read from their source:
    each line of the statement -> the kind of refusal (module and problem text)."""
    package = Path(weatherplot.__file__).parent
    # NOAA's station-list reader and the downloads are not reached through
    # load_station: their refusals are tested in test_download.py.
    readers = [
        p for p in sorted((package / "io").glob("*.py")) if p.stem != "ghcnd_meta"
    ]
    sites = {}
    for path in [*readers, package / "stations.py"]:
        tree = ast.parse(path.read_text())
        downloads = [
            node
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("download")
        ]
        skipped = {id(n) for fn in downloads for n in ast.walk(fn)}
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            call = node.exc if isinstance(node, ast.Raise) else None
            if getattr(getattr(call, "func", None), "id", "") != "StationDataError":
                continue
            kind = f"{path.name}: {ast.unparse(call.args[1])}"
            for line in range(node.lineno, node.end_lineno + 1):
                sites[(str(path), line)] = kind
    return sites


def test_every_kind_of_refusal_in_the_readers_has_a_case(tmp_path):
    """Found from the code, not from a list: each distinct refusal the readers can
    raise is reached by at least one case above (so each has its message checked)."""
    sites = raise_sites()
    reached = set()
    for build in CASES:
        folder = tmp_path / build.__name__
        folder.mkdir()
        entry, _ = build(folder)
        with pytest.raises(StationDataError) as caught:
            load_station({"id": "BAD-INPUT", **entry, "file": str(entry["file"])})
        raised_at = traceback.extract_tb(caught.value.__traceback__)[-1]
        reached.add(sites[(raised_at.filename, raised_at.lineno)])
    assert sorted(set(sites.values()) - reached) == []


# -- Not errors: what the readers must still accept ----------------------------------


@pytest.mark.parametrize("station", [SMALL, OTHER])
def test_dly_with_trailing_blanks_stripped_reads_the_same(tmp_path, station):
    """Editors and some download tools strip trailing blanks (day 31's empty flags):
    about half of the real lines end in blanks. Same values, not an error."""
    lines = dly_lines(station)
    stripped = [line.rstrip(b" ") for line in lines]
    assert sum(len(x) < 269 for x in stripped) > len(lines) // 3
    path = tmp_path / f"{station}.dly"
    path.write_bytes(b"\r\n".join(stripped) + b"\r\n\r\n")  # and CRLF, a blank line
    ours, _ = read_ghcnd(path)
    real, _ = read_ghcnd(station_file(station))
    np.testing.assert_array_equal(ours.dates, real.dates)
    for element in ("TMAX", "TMIN", "PRCP"):
        np.testing.assert_array_equal(ours.values[element], real.values[element])


def test_crlf_file_without_a_final_newline_reads_the_same(tmp_path):
    """Saved on Windows, last line unterminated: CRLF is told from the first line."""
    path = tmp_path / f"{SMALL}.dly"
    path.write_bytes(b"\r\n".join(dly_lines()))
    ours, _ = read_ghcnd(path)
    real, _ = read_ghcnd(station_file(SMALL))
    np.testing.assert_array_equal(ours.dates, real.dates)
    for element in ("TMAX", "TMIN", "PRCP"):
        np.testing.assert_array_equal(ours.values[element], real.values[element])


def test_a_file_mixing_lf_and_crlf_reads_the_same(tmp_path):
    """Lines pasted in from another system: LF first and last, CRLF between. Same
    values, not a wrong line length."""
    lines = dly_lines()
    middle = b"".join(line + b"\r\n" for line in lines[1:-1])
    path = tmp_path / f"{SMALL}.dly"
    path.write_bytes(lines[0] + b"\n" + middle + lines[-1] + b"\n")
    ours, _ = read_ghcnd(path)
    real, _ = read_ghcnd(station_file(SMALL))
    np.testing.assert_array_equal(ours.dates, real.dates)
    for element in ("TMAX", "TMIN", "PRCP"):
        np.testing.assert_array_equal(ours.values[element], real.values[element])


def test_a_tilde_flag_is_printable_and_fails_quality_control(tmp_path):
    """'~' (0x7e) is the last printable ASCII byte: a flag, not a binary file. As a
    QFLAG it drops its value like any other quality flag."""
    lines = dly_lines()
    i = first_line_of(lines, b"TMAX")
    day = next(d for d in range(31) if lines[i][21 + 8 * d : 26 + 8 * d] != b"-9999")
    lines[i] = set_field(lines[i], 21 + 8 * day + 6, b"~")
    path = tmp_path / f"{SMALL}.dly"
    path.write_bytes(join(lines))
    ours, meta = read_ghcnd(path)
    real, real_meta = read_ghcnd(station_file(SMALL))
    assert meta["flagged"]["TMAX"] == real_meta["flagged"]["TMAX"] + 1
    date = f"{lines[i][11:15].decode()}-{lines[i][15:17].decode()}-{day + 1:02d}"
    assert np.isfinite(value_on(real, "TMAX", date))
    assert np.isnan(value_on(ours, "TMAX", date))


def test_a_stripped_line_ending_in_a_measurement_flag_reads_the_same(tmp_path):
    """Day 31 with an MFLAG but blank QFLAG and SFLAG: stripping leaves 267
    characters, the last a letter, not a digit."""
    lines = dly_lines()
    i = first_line_of(lines, b"PRCP")
    lines[i] = set_field(lines[i], 266, b"T  ")  # a trace on day 31, no source
    path = tmp_path / f"{SMALL}.dly"
    path.write_bytes(join([*lines[:i], lines[i].rstrip(b" "), *lines[i + 1 :]]))
    assert len(lines[i].rstrip(b" ")) == 267
    ours, _ = read_ghcnd(path)
    real, _ = read_ghcnd(station_file(SMALL))
    np.testing.assert_array_equal(ours.dates, real.dates)
    for element in ("TMAX", "TMIN", "PRCP"):
        np.testing.assert_array_equal(ours.values[element], real.values[element])


def test_stripped_lines_adding_up_to_whole_lines_read_the_same(tmp_path):
    """90 lines stripped of day 31's three blank flags: 270 bytes fewer, so the file
    is as long as one of whole lines, but its lines are not all 269 characters."""
    lines = dly_lines()
    blank_ends = [i for i, line in enumerate(lines) if line.endswith(b"   ")]
    stripped = set(blank_ends[:90])
    assert len(stripped) == 90
    data = join([x[:-3] if i in stripped else x for i, x in enumerate(lines)])
    assert len(data) % 270 == 0 and len(data) < 270 * len(lines)
    path = tmp_path / f"{SMALL}.dly"
    path.write_bytes(data)
    ours, _ = read_ghcnd(path)
    real, _ = read_ghcnd(station_file(SMALL))
    np.testing.assert_array_equal(ours.dates, real.dates)
    for element in ("TMAX", "TMIN", "PRCP"):
        np.testing.assert_array_equal(ours.values[element], real.values[element])


def test_real_metric_export_is_not_taken_for_inches(tmp_path):
    daily, meta = read_station(current_metric_export(tmp_path), units="metric")
    legacy, _ = read_station(LEGACY, units="metric")
    assert meta["format"] == "cdo-current"
    for element in ("TMAX", "TMIN", "PRCP"):
        np.testing.assert_array_equal(daily.values[element], legacy.values[element])


# -- CDO exports as NCEI also writes them: several stations, coordinates, QC flags ----


def death_valley_metric_rows() -> list[list[str]]:
    """The real Death Valley 2021 export in metric, as NCEI writes that choice:
    degC and mm to tenths, missing left empty (PRCP, TMAX, TMIN only)."""
    rows = cdo_rows()
    column = {name: rows[0].index(name) for name in ("PRCP", "TMAX", "TMIN")}
    out = []
    for row in rows[1:]:
        tmax, tmin, prcp = (row[column[e]] for e in ("TMAX", "TMIN", "PRCP"))
        out.append(
            [
                *row[:3],
                "" if prcp == "" else f"{float(prcp) * 25.4:.1f}",
                *(
                    "" if t == "" else f"{(float(t) - 32) * 5 / 9:.1f}"
                    for t in (tmax, tmin)
                ),
            ]
        )
    return out


def two_station_export(tmp) -> Path:
    """Death Valley 2021, then Seattle 2014 (each real export rewritten as a current
    metric one): an export of two stations, in one file and one unit."""
    seattle = cdo_rows(current_metric_export(tmp))
    assert seattle[0] == ["STATION", "NAME", "DATE", "PRCP", "TMAX", "TMIN"]
    return write_rows(
        tmp / "two.csv", [seattle[0], *death_valley_metric_rows(), *seattle[1:]]
    )


def test_a_multi_station_export_gives_the_configured_station(tmp_path):
    path = two_station_export(tmp_path)
    daily, meta = read_station(path, units="metric", station="USW00024233")
    legacy, _ = read_station(LEGACY, units="metric")
    assert (meta["id"], meta["name"]) == (
        "USW00024233",
        "SEATTLE TACOMA INTERNATIONAL AIRPORT WA US",
    )
    np.testing.assert_array_equal(daily.dates, legacy.dates)  # 2014 only
    for element in ("TMAX", "TMIN", "PRCP"):
        np.testing.assert_array_equal(daily.values[element], legacy.values[element])
    daily, meta = read_station(path, units="metric", station="USC00042319")
    assert (meta["id"], meta["name"]) == (
        "USC00042319",
        "DEATH VALLEY NATIONAL PARK, CA US",
    )
    assert (str(daily.dates[0]), str(daily.dates[-1])) == ("2021-01-01", "2021-12-31")
    # 71 degF, 51 degF and 0.19 inches, to tenths as the metric export writes them.
    assert value_on(daily, "TMAX", "2021-01-01") == 21.7
    assert value_on(daily, "TMIN", "2021-01-01") == 10.6
    assert value_on(daily, "PRCP", "2021-01-25") == 4.8
    # The chosen station's rows keep their lines: an error names the file's line.
    lines = path.read_bytes().split(b"\n")
    assert lines[375].startswith(b'"USW00024233","SEATTLE')  # its 10th day
    lines[375] = lines[375].replace(b'"2014-01-10","', b'"2014-01-10","~', 1)
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(StationDataError, match=r"two\.csv, line 376.*PRCP"):
        read_station(path, units="metric", station="USW00024233")


@pytest.mark.parametrize(
    ("elevation", "in_title"),
    [("-59.1", ", -59 m"), ("-999.9", ""), ("-999", "")],
    ids=["below-sea-level", "unknown", "unknown-whole"],
)
def test_cdo_coordinates_reach_the_title(tmp_path, elevation, in_title):
    """An export with "geographic location" ticked: LATITUDE, LONGITUDE, ELEVATION
    after NAME (Death Valley's own, from stations.csv), on every row. NCEI writes
    an unknown elevation as -999.9; Death Valley's -59.1 m is a real one."""
    from weatherplot.climate import station_summary
    from weatherplot.plotting import title_for
    from weatherplot.stations import title_info

    rows = cdo_rows()
    rows[0][2:2] = ["LATITUDE", "LONGITUDE", "ELEVATION"]
    for row in rows[1:]:
        row[2:2] = ["36.4625", "-116.8672", elevation]
    entry = {"id": "USC00042319", "file": str(write_rows(tmp_path / "dv.csv", rows))}
    daily, meta = load_station({**entry, "units": "standard"})
    assert (meta["latitude"], meta["longitude"]) == (36.4625, -116.8672)
    assert meta["elevation_m"] == (-59.1 if in_title else None)
    title = title_for(title_info(entry, meta), station_summary(daily))
    assert title == (
        "DEATH VALLEY NATIONAL PARK, CA US (USC00042319) · 36.46°N, 116.87°W"
        f"{in_title} · 2021"
    )


def test_a_one_day_cdo_export_keeps_its_name_and_place(tmp_path):
    rows = cdo_rows()[:2]
    rows[0] += ["LATITUDE", "LONGITUDE", "ELEVATION"]
    rows[1] += ["36.4625", "-116.8672", "-59.1"]
    daily, meta = read_station(write_rows(tmp_path / "dv.csv", rows), units="standard")
    assert len(daily) == 1
    assert meta["name"] == "DEATH VALLEY NATIONAL PARK, CA US"
    assert (meta["latitude"], meta["longitude"], meta["elevation_m"]) == (
        36.4625,
        -116.8672,
        -59.1,
    )


def test_cdo_values_with_a_quality_flag_are_dropped_the_others_kept(tmp_path):
    """<E>_ATTRIBUTES is "M,Q,S,time": only a non-blank Q (2nd field) drops the value;
    an M flag (T: trace) or the source keeps it. A flag on a missing value drops
    nothing; an empty attributes cell flags nothing."""
    rows = cdo_rows()
    header = rows[0]
    rows[0] = [*header, "TMAX_ATTRIBUTES", "TMIN_ATTRIBUTES", "PRCP_ATTRIBUTES"]
    flags = {  # day: (TMAX, TMIN, PRCP) attributes
        "2021-01-05": (",I,7,0700", ",,7,0700", ",,7,0700"),
        "2021-01-25": (",,7,0700", ",,7,0700", "T,,7,0700"),  # 0.19 in, kept
        "2021-05-04": (",I,7,0700", ",,7,0700", ",,7,0700"),  # TMAX missing anyway
        "2021-07-10": (",G,7,0700", ",S,7,0700", ",,7,0700"),
        "2021-07-11": ("", "", ""),
    }
    for row in rows[1:]:
        row += flags.get(row[2], (",,7,0700",) * 3)
    path = write_rows(tmp_path / "dv.csv", rows)
    daily, meta = read_station(path, units="standard")
    plain, _ = read_station(CURRENT, units="standard")
    assert meta["flagged"] == {"TMAX": 2, "TMIN": 1, "PRCP": 0}
    dropped = {"TMAX": ["2021-01-05", "2021-07-10"], "TMIN": ["2021-07-10"]}
    for element in ("TMAX", "TMIN", "PRCP"):
        expected = plain.values[element].copy()
        for day in dropped.get(element, []):
            assert np.isfinite(value_on(plain, element, day))
            expected[np.searchsorted(plain.dates, np.datetime64(day))] = np.nan
        np.testing.assert_array_equal(daily.values[element], expected)
    assert value_on(daily, "PRCP", "2021-01-25") == pytest.approx(0.19 * 25.4)


def test_a_cdo_attributes_column_left_empty_flags_nothing(tmp_path):
    rows = cdo_rows()
    rows[0].append("TMAX_ATTRIBUTES")
    for row in rows[1:]:
        row.append("")
    daily, meta = read_station(write_rows(tmp_path / "dv.csv", rows), units="standard")
    plain, _ = read_station(CURRENT, units="standard")
    assert meta["flagged"]["TMAX"] == 0
    np.testing.assert_array_equal(daily.tmax, plain.tmax)


@pytest.mark.parametrize(
    "file",
    [station_file(DEATH_VALLEY), CURRENT],
    ids=["dly", "cdo"],
)
def test_a_config_id_naming_another_stations_file_is_warned_about(file, caplog):
    """The file decides what is plotted; the config's id only names it: the two
    disagreeing is said, with both ids and the file, and the plot still made."""
    entry = {"id": OXFORD, "file": str(file), "units": "standard"}
    with caplog.at_level("WARNING", logger="weatherplot.stations"):
        daily, meta = load_station(entry)
    assert meta["id"] == DEATH_VALLEY and len(daily) >= 365
    assert [r.getMessage() for r in caplog.records] == [
        f"{file}: file holds station {DEATH_VALLEY}, config says {OXFORD}"
    ]
    caplog.clear()
    load_station({**entry, "id": DEATH_VALLEY})
    assert caplog.records == []


def every_real_file():
    """Every file in the project's shared data folder, with the units it is in."""
    files = [(p, None) for p in sorted((SHARED_DATA / "ghcnd").glob("*.dly.gz"))]
    files += [(p, "standard") for p in sorted(SHARED_DATA.glob("ncei-cdo/*standard*"))]
    files += [(p, "metric") for p in sorted(SHARED_DATA.glob("ncei-cdo/*legacy*"))]
    return files


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=SHARED_DATA_MISSING)
def test_every_real_file_reads_with_plausible_values():
    files = every_real_file()
    assert files
    for path, units in files:
        daily, meta = load_station(
            {"id": path.name[:11], "file": str(path), "units": units}
        )
        assert meta["id"] == path.name[:11]
        assert len(daily) >= 365, path
        for element in ("TMAX", "TMIN", "PRCP"):
            values = daily.values[element]
            assert np.isfinite(values).mean() > 0.5, (path, element)
        assert np.nanmin(daily.tmin) > -60 and np.nanmax(daily.tmax) < 57, path
        assert np.nanmin(daily.prcp) >= 0 and np.nanmax(daily.prcp) < 1000, path
        assert np.nanmean(daily.tmax) > np.nanmean(daily.tmin), path


# -- A station without TMAX or PRCP still gets its plot ------------------------------


def figure_texts(figure) -> str:
    return "\n".join(
        t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text"))
    )


@pytest.mark.parametrize(
    ("dropped", "says"),
    [
        ((b"TMAX",), ["No TMAX in this record"]),
        ((b"PRCP",), ["No PRCP in this record"]),
        ((b"TMAX", b"TMIN"), ["No TMAX or TMIN in this station's record"]),
    ],
    ids=["no-TMAX", "no-PRCP", "no-temperature"],
)
def test_station_lacking_an_element_gets_a_plot_saying_so(tmp_path, dropped, says):
    from weatherplot.climate import station_summary
    from weatherplot.plotting import station_figure
    from weatherplot.stations import plot_station

    lines = [x for x in dly_lines() if x[17:21] not in dropped]
    path = tmp_path / f"{SMALL}.dly"
    path.write_bytes(join(lines))
    info = {"id": SMALL, "file": str(path)}
    daily, _ = load_station(info)
    texts = figure_texts(station_figure(station_summary(daily), info))
    for text in says:
        assert text in texts
    png = tmp_path / "out.png"
    plot_station(info, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "call",
    [
        "run_exercise(stations, 1, 1, Path(folder))",
        # On both builds (the loop, the Pool and the threads), read as often.
        "run_builds(stations, 1, 1, {'gil': sys.executable})",
    ],
)
def test_the_exercise_refuses_a_named_pipe_before_reading_it(tmp_path, call):
    """The exercise reads every station file several times, first to warm the page
    cache: a FIFO would hold that read for ever. It is refused by its stat, in one
    line naming the station and the file. The child process and its generous
    time-out only keep a regression from hanging the suite."""
    import os
    import subprocess

    from weatherplot.importpath import child_env

    fifo = tmp_path / f"{MELBOURNE}.dly"
    os.mkfifo(fifo)
    child = (
        "import sys\n"
        "from pathlib import Path\n"
        "from weatherplot.exercise import run_builds, run_exercise\n"
        "from weatherplot.measure import MeasureError\n"
        f"stations = [{{'id': {MELBOURNE!r}, 'file': {str(fifo)!r}}}]\n"
        f"folder = {str(tmp_path)!r}\n"
        "try:\n"
        f"    {call}\n"
        "except MeasureError as error:\n"
        "    print(error)\n"
        "    sys.exit(3)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", child],
        capture_output=True,
        text=True,
        timeout=300,
        env=child_env(),
    )
    assert done.returncode == 3, done.stderr
    (line,) = done.stdout.splitlines()
    assert line.startswith(f"station {MELBOURNE}: {fifo}: is a named pipe (FIFO)")
    assert "-> " in line and "regular file" in line


def test_a_device_or_a_folder_is_not_a_regular_station_file(tmp_path):
    from weatherplot.exercise import require_regular_file

    for path, kind in (("/dev/null", "a device"), (tmp_path, "a directory")):
        with pytest.raises(StationDataError) as caught:
            require_regular_file(path, hint="give a file")
        expected = f"{path}: is {kind}, not a regular file -> give a file"
        assert str(caught.value) == expected
