"""The asyncssh client of a connection: host keys checked by :class:`engine.remote.ssh.HostKeyCheck`,
passwords and keyboard-interactive answers asked through the prompter on a worker thread (never
on the event loop's), at most three times, kept in memory for reconnections."""

from __future__ import annotations

import asyncio

import asyncssh

MAX_TRIES = 3


class Client(asyncssh.SSHClient):
    def __init__(self, check, prompter, secrets: dict, where: str):
        self.check, self.prompter, self.secrets, self.where = check, prompter, secrets, where
        self.tries = 0

    def validate_host_public_key(self, host, addr, port, key) -> bool:
        return self.check.validate(host, addr, port, key)

    def password_auth_requested(self):
        return self.ask("password", f"Password for {self.where}: ")

    def kbdint_auth_requested(self):
        return ""

    def kbdint_challenge_received(self, name, instructions, lang, prompts):
        return self.answers(prompts) if prompts else []

    async def answers(self, prompts):
        out = []
        for text, _echo in prompts:
            answer = await self.ask(f"kbdint:{text}", f"({self.where}) {text.strip() or 'Password:'} ")
            if answer is None:
                return None
            out.append(answer)
        return out

    async def ask(self, key: str, prompt: str):
        """The remembered answer first (a reconnection), then the user's (None: give up)."""
        self.tries += 1
        if key in self.secrets and self.tries == 1:
            return self.secrets[key]
        if self.tries > MAX_TRIES or not self.prompter.interactive:
            return None
        answer = await asyncio.get_running_loop().run_in_executor(None, self.prompter.secret, prompt)
        if answer is not None:
            self.secrets[key] = answer
        return answer
