"""Place an instant in a firm's calendar: its UTC text for storage and its local month and day.

Months are cut in the firm's time zone, not in UTC. Converting every row through zoneinfo is
the slowest step of validation, so the zone offset is looked up once per UTC day (and per
instant only on the rare days a zone changes its offset). Timestamps written the usual way
(whole seconds, an offset of whole hours) go faster still: their UTC text and local date are
cached per hour, where the zone keeps one whole-hour offset for the whole hour.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
DAY_S = 86_400
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# ":MM:SS" -> seconds into the hour, for every valid minute and second.
_MINUTE_SECONDS = {f":{m:02d}:{sec:02d}": m * 60 + sec for m in range(60) for sec in range(60)}


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """A cached IANA time zone."""
    return ZoneInfo(name)


class LocalCalendar:
    """One time zone's calendar with per-day caches (bounded: a few entries per day seen)."""

    CACHE_MAX = 100_000

    def __init__(self, tz_name: str) -> None:
        self.tz_name = tz_name
        self.zone = zone(tz_name)
        self._offsets: dict[tzinfo, int] = {}
        # UTC day number -> (its date text, the zone's offset that whole day or None if it moves).
        self._utc_days: dict[int, tuple[str, int | None]] = {}
        # Local day number -> ("YYYY-MM", day of month).
        self._local_days: dict[int, tuple[str, int]] = {}
        # Offset text ("+08:00", "Z") -> "YYYY-MM-DDTHH" -> (UTC "YYYY-MM-DD HH", local
        # "YYYY-MM", day, the hour's first second since 1970), or None when the hour cannot be
        # placed by its text. Two lookups by slices of the text, no key to build.
        self._hours: dict[str, dict[str, tuple[str, str, int, int] | None]] = {}
        self._hour_count = 0

    def _offset_at(self, epoch_s: int) -> int:
        offset = datetime.fromtimestamp(epoch_s, self.zone).utcoffset()
        assert offset is not None
        return int(offset.total_seconds())

    def _utc_day(self, day: int) -> tuple[str, int | None]:
        if len(self._utc_days) >= self.CACHE_MAX:
            self._utc_days.clear()
        start = self._offset_at(day * DAY_S)
        end = self._offset_at(day * DAY_S + DAY_S - 1)
        info = (date.fromordinal(EPOCH_ORDINAL + day).isoformat(), start if start == end else None)
        self._utc_days[day] = info
        return info

    def _local_day(self, day: int) -> tuple[str, int]:
        if len(self._local_days) >= self.CACHE_MAX:
            self._local_days.clear()
        d = date.fromordinal(EPOCH_ORDINAL + day)
        info = self._local_days[day] = (f"{d.year:04d}-{d.month:02d}", d.day)
        return info

    def epoch_seconds(self, ts: datetime) -> int:
        """Whole seconds since 1970 of an aware datetime (exact, cheaper than timestamp())."""
        tz = ts.tzinfo
        offset = self._offsets.get(tz)  # type: ignore[arg-type]
        if offset is None:
            if len(self._offsets) >= 1_000:
                self._offsets.clear()
            delta = ts.utcoffset()
            assert delta is not None
            offset = int(delta.total_seconds())
            if offset * 1_000_000 != delta // _MICROSECOND:
                # Offsets with fractions of a second are not cacheable as whole seconds.
                return int((ts - _EPOCH).total_seconds() // 1)
            self._offsets[tz] = offset  # type: ignore[index]
        return (
            (ts.toordinal() - EPOCH_ORDINAL) * DAY_S
            + ts.hour * 3600
            + ts.minute * 60
            + ts.second
            - offset
        )

    def place(self, ts: datetime) -> tuple[str, str, int]:
        """(UTC text "YYYY-MM-DD hh:mm:ss.ffffff", local "YYYY-MM", local day of month)."""
        epoch = self.epoch_seconds(ts)
        utc_day, second_of_day = divmod(epoch, DAY_S)
        info = self._utc_days.get(utc_day)
        if info is None:
            info = self._utc_day(utc_day)
        date_text, offset = info
        if offset is None:
            offset = self._offset_at(epoch)
        hour, rest = divmod(second_of_day, 3600)
        minute, second = divmod(rest, 60)
        utc_text = f"{date_text} {hour:02d}:{minute:02d}:{second:02d}.{ts.microsecond:06d}"
        local = (epoch + offset) // DAY_S
        month_day = self._local_days.get(local)
        if month_day is None:
            month_day = self._local_day(local)
        return utc_text, month_day[0], month_day[1]

    @staticmethod
    def _offset_text(text: str) -> str | None:
        """The offset part of whole-second text with a whole-hour offset ("+08:00", "Z"), else
        None: the texts whose hour can be placed once for all its instants."""
        n = len(text)
        if n == 25:
            if text[19] not in "+-" or text[22:] != ":00":
                return None
            return text[19:]
        if n == 20 and text[19] in "Zz":
            return text[19:]
        return None

    def place_text(self, text: str, ts: datetime) -> tuple[str, str, int]:
        """place() of a timestamp parsed from `text`, read off the text where the hour allows.

        With whole seconds and an offset of whole hours ("2025-03-04T12:34:56+08:00" or "...Z"),
        minutes and seconds are the same in UTC, and when the zone's offset is one whole-hour
        value all hour long, the whole hour falls on one local day: the hour's placement,
        cached, serves every instant in it.
        """
        offset = self._offset_text(text)
        if offset is None or text[13] != ":" or text[16] != ":":
            return self.place(ts)
        hours = self._hours.get(offset)
        hour = hours.get(text[:13], False) if hours is not None else False
        if hour is False:
            hour = self._hour(offset, text[:13], ts)
        if hour is None:
            return self.place(ts)
        utc_hour, month, day, _start = hour  # type: ignore[misc]
        return f"{utc_hour}{text[13:19]}.000000", month, day

    def place_known_hour(self, text: str, latest_epoch: int) -> tuple[str, str, int] | None:
        """place() of text in an hour already placed by place_text, with no parsing at all;
        None unless the text is in such an hour, well formed and not after latest_epoch.

        Only validated timestamps place an hour, and only under their own offset text, so a
        text whose offset and hour are both known is valid up to its minutes and seconds,
        which are checked against the 3,600 valid ":MM:SS".
        """
        hours = self._hours.get(text[19:])
        if hours is None:
            return None
        hour = hours.get(text[:13])
        if hour is None:
            return None
        minute_second = text[13:19]
        second = _MINUTE_SECONDS.get(minute_second)
        if second is None:
            return None
        utc_hour, month, day, start = hour
        if start + second > latest_epoch:
            return None
        return f"{utc_hour}{minute_second}.000000", month, day

    def _hour(self, offset: str, hour_text: str, ts: datetime) -> tuple[str, str, int, int] | None:
        if self._hour_count >= self.CACHE_MAX:
            self._hours.clear()
            self._hour_count = 0
        epoch = self.epoch_seconds(ts)
        info = self._utc_days.get(epoch // DAY_S)
        if info is None:
            info = self._utc_day(epoch // DAY_S)
        zone_offset = info[1]  # None: the offset moves that UTC day
        found = None
        if zone_offset is not None and zone_offset % 3600 == 0 and ts.microsecond == 0:
            utc_text, month, day = self.place(ts)
            found = (utc_text[:13], month, day, epoch - ts.minute * 60 - ts.second)
        self._hours.setdefault(offset, {})[hour_text] = found
        self._hour_count += 1
        return found


def local_month_day(ts: datetime, tz_name: str) -> tuple[str, int]:
    """The local ("YYYY-MM", day) of an instant, the slow and obvious way (for checks)."""
    local = ts.astimezone(zone(tz_name))
    return f"{local.year:04d}-{local.month:02d}", local.day
