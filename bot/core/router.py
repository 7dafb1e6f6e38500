"""Commands: names, Chinese aliases, who may run them, and their handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from bot.core.context import Context, HelpEntry
from storage.models import Role

Handler = Callable[["Context", str], Awaitable[None]]
PayloadHandler = Callable[["Context", list[str]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Command:
    """A command such as ``/progress`` (alias ``进度``); ``roles`` may include None (unbound)."""

    name: str
    handler: Handler
    roles: frozenset[Role | None]
    aliases: tuple[str, ...] = ()
    help_key: str | None = None
    help_roles: frozenset[Role | None] | None = None

    def listed_for(self, role: Role | None) -> bool:
        """Whether /help shows this command to ``role`` (default: whoever may run it)."""
        shown = self.roles if self.help_roles is None else self.help_roles
        return self.help_key is not None and role in shown


@dataclass(frozen=True, slots=True)
class Parsed:
    """What a text turned out to be: a known command, an unknown ``/word``, or plain text."""

    command: Command | None
    word: str | None
    args: str


class Router:
    """A registry of commands and button-payload handlers; routers can be merged."""

    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}
        self._words: dict[str, Command] = {}
        self._payloads: dict[str, tuple[PayloadHandler, frozenset[Role | None]]] = {}

    def command(
        self,
        name: str,
        *,
        roles: Iterable[Role | None],
        aliases: Iterable[str] = (),
        help_key: str | None = None,
        help_roles: Iterable[Role | None] | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            shown = None if help_roles is None else frozenset(help_roles)
            self.add(Command(name, handler, frozenset(roles), tuple(aliases), help_key, shown))
            return handler

        return register

    def payload(
        self, prefix: str, *, roles: Iterable[Role | None]
    ) -> Callable[[PayloadHandler], PayloadHandler]:
        """Handle button payloads ``prefix:arg1:arg2`` from people with one of ``roles``."""

        def register(handler: PayloadHandler) -> PayloadHandler:
            if prefix in self._payloads:
                raise ValueError(f"payload prefix {prefix!r} registered twice")
            self._payloads[prefix] = (handler, frozenset(roles))
            return handler

        return register

    def add(self, command: Command) -> None:
        for word in (command.name, *command.aliases):
            key = word.lower()
            if key in self._words:
                raise ValueError(f"command word {word!r} registered twice")
            self._words[key] = command
        self._commands[command.name] = command

    def include(self, other: Router) -> None:
        for command in other._commands.values():
            self.add(command)
        for prefix, (handler, roles) in other._payloads.items():
            self.payload(prefix, roles=roles)(handler)

    def parse(self, text: str) -> Parsed:
        """Split ``/cmd@bot args`` or ``别名 args`` into the command and its arguments."""
        stripped = text.strip()
        head, _, rest = stripped.partition(" ")
        if not head:
            return Parsed(None, None, "")
        if head.startswith("/"):
            word = head[1:].split("@", 1)[0].lower()
            return Parsed(self._words.get(word), word, rest.strip())
        command = self._words.get(head.lower())
        if command is not None and not head.isascii():
            return Parsed(command, head, rest.strip())
        return Parsed(None, None, stripped)

    def payload_handler(
        self, payload: str
    ) -> tuple[PayloadHandler, frozenset[Role | None], list[str]] | None:
        prefix, *args = payload.split(":")
        found = self._payloads.get(prefix)
        return None if found is None else (found[0], found[1], args)

    def commands_for(self, role: Role | None) -> list[Command]:
        return [c for c in self._commands.values() if c.listed_for(role)]

    def get(self, name: str) -> Command:
        return self._commands[name]

    def help_for(self, role: Role | None) -> list[HelpEntry]:
        return [
            HelpEntry(c.name, c.aliases, c.help_key)
            for c in self.commands_for(role)
            if c.help_key is not None
        ]

    async def run(self, ctx: Context, name: str, args: str = "") -> None:
        await self._commands[name].handler(ctx, args)
