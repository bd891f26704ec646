"""What services return: datm's own frozen data, never live entities or rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from datm.domain.lastfm import ArtistRef, Image
from datm.ports.market import MarketLockHolder as MarketLockHolder  # re-exported: a result too


@dataclass(frozen=True, slots=True)
class LoginLink:
    api_key: str
    url: str
    token: str | None


@dataclass(frozen=True, slots=True)
class LoginResult:
    player: str
    session_key: str
    is_new: bool
    league: str
    money: int

    def __repr__(self) -> str:
        return f"LoginResult(player={self.player!r}, is_new={self.is_new}, session_key=<hidden>)"


@dataclass(frozen=True, slots=True)
class ArtistLight:
    mbid: str
    name: str


@dataclass(frozen=True, slots=True)
class ArtistBasic:
    mbid: str
    name: str
    images: tuple[Image, ...]


@dataclass(frozen=True, slots=True)
class ArtistLastfmData:
    mbid: str
    name: str
    listeners: int
    playcount: int
    tags: tuple[str, ...]
    similar: tuple[ArtistRef, ...]
    bio_summary: str
    bio_content: str
    streamable: bool
    url: str
    images: tuple[Image, ...]


@dataclass(frozen=True, slots=True)
class MarketData:
    """One listed artist's market. ``price`` is what the given player would get:
    the sell price if that player holds the artist, else the buy price."""

    mbid: str
    name: str
    price: int
    buy_price: int
    sell_price: int
    remaining: int
    max_shares: int
    points: int
    dividend: int
    held: bool


@dataclass(frozen=True, slots=True)
class ArtistGain:
    market: MarketData
    gain: int


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    day: date
    price: int
    points: int
    dividend: int


@dataclass(frozen=True, slots=True)
class TradeView:
    player: str | None
    mbid: str
    artist: str
    side: str
    price: int
    at: datetime


@dataclass(frozen=True, slots=True)
class TradedArtist:
    mbid: str
    name: str
    buys: int


@dataclass(frozen=True, slots=True)
class HoldingView:
    market: MarketData
    price_paid: int
    since: datetime


@dataclass(frozen=True, slots=True)
class TrophyView:
    uid: str
    name: str
    description: str
    icon: str
    awarded_at: datetime


@dataclass(frozen=True, slots=True)
class Points:
    all_time: int
    daily: int
    weekly: int
    monthly: int


@dataclass(frozen=True, slots=True)
class PlayerProfile:
    name: str
    league: str
    points: Points
    net_worth: int
    images: tuple[Image, ...]
    trades: tuple[TradeView, ...]
    holdings: tuple[HoldingView, ...]
    trophies: tuple[TrophyView, ...]


@dataclass(frozen=True, slots=True)
class SignedQuote:
    """A price guarantee; ``token`` is what buy or sell takes back."""

    token: str
    mbid: str
    side: str
    price: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class TradeReceipt:
    mbid: str
    side: str
    price: int
    money: int
    at: datetime
    new_trophies: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ResetResult:
    player: str
    sold: tuple[TradeReceipt, ...]
    money: int


@dataclass(frozen=True, slots=True)
class LeaderboardEntry:
    position: int
    name: str
    points: int


@dataclass(frozen=True, slots=True)
class LeagueView:
    uid: str
    name: str
    rank: int


@dataclass(frozen=True, slots=True)
class ArtistSummary:
    mbid: str
    name: str
    price: int
    max_shares: int
    remaining: int
    last_listeners: int
    last_playcount: int


@dataclass(frozen=True, slots=True)
class Counts:
    players: int
    listed_artists: int
    trades_per_day: tuple[tuple[date, int], ...]


class CloseStep(StrEnum):
    """The steps of a daily close, in order, as its progress reports them."""

    CUT_OFF = "cut-off"  # the market closed: who holds what is fixed
    FETCHED = "fetched"  # an artist's fresh last.fm numbers are in (or could not be had)
    HOLDERS = "holders"  # holdings of record paid, by ranges of player names
    PAID = "paid"  # artists closed, their holders paid: history, numbers, max shares


@dataclass(frozen=True, slots=True)
class CloseProgress:
    """How far one step of the close of ``day`` has come: ``done`` of ``total``
    artists of record dealt with (holdings of record for HOLDERS; the total is
    fixed at the cut-off), ``failed`` of them without fresh numbers. A FETCHED
    event with ``paused`` > 0 says last.fm is failing and fetching waits that many
    seconds before trying again."""

    step: CloseStep
    done: int
    total: int
    failed: int = 0  # fetched: artists that kept their numbers (last.fm had none)
    per_second: float = 0.0  # fetched: this run's rate of numbers coming in
    day: date | None = None  # the close's day: a run may first finish an earlier one
    paused: float = 0.0


@dataclass(frozen=True, slots=True)
class FailedArtist:
    """An artist whose fresh numbers could not be had, and why: it kept its previous
    numbers (no points, no dividend that day), as game-rules.md says."""

    mbid: str
    code: str  # the DatmError's code, e.g. "lastfm_unavailable", "unknown_artist"
    reason: str


@dataclass(frozen=True, slots=True)
class CloseReport:
    """What one run of the close did. Counts are this run's, over every day it closed
    (a run first finishes an earlier unfinished close): a rerun of a close that died
    half way reports what it paid, not what the first run had. ``failed`` lists the
    artists of those days that kept their previous numbers, whichever run found it.
    ``finished`` is False when the run stopped early (a last.fm outage), whichever
    day it was on: run it again."""

    day: date
    already_closed: bool
    finished: bool
    artists_closed: int
    artists_skipped: int
    failed: tuple[FailedArtist, ...]
    dividends_paid: int
    points_awarded: int
    holders_paid: int  # payments: one per holder of each artist closed
    duration_seconds: float
    trading_refused_seconds: float  # how long this run held (or waited for) the market lock


@dataclass(frozen=True, slots=True)
class MarketStatus:
    open: bool
    holder: MarketLockHolder | None  # who holds the market lock, when it is closed
