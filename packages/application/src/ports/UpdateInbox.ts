/**
 * The durable inbox of Telegram updates. An update is accepted once per
 * (bot, update_id); updates of one chat are handed out one at a time, oldest
 * first, to whichever process holds that chat's lease.
 */
import type { BotId } from "@botfleet/domain"
import { Context, type Effect, type Option } from "effect"
import type { Page, PageRequest } from "./Repositories.ts"

export interface InboundUpdate {
  readonly botId: BotId
  readonly updateId: number
  /** `chatKeyOfUpdate` in the domain; updates without a chat get a key of their own. */
  readonly chatKey: string
  readonly payload: unknown
  readonly traceparent: string | null
}

export interface PendingUpdate extends InboundUpdate {
  readonly id: number
  readonly attempts: number
  readonly receivedAt: Date
  /**
   * The settings version (see SettingsVersion) read in the same statement as
   * this update: at least that of every bot or provider edit committed before
   * the update was stored.
   */
  readonly settingsVersion: number
}

export interface InboxStats {
  readonly pending: number
  readonly oldestPendingAgeSeconds: number
  readonly failed: number
}

/**
 * How one look shares a process's free slots between bots: round robin (each
 * bot's oldest due chat first, then each bot's second...), counting the chats
 * a bot already has in flight here, and no bot past `perBot` of them, nor past
 * its own `maxConcurrentChats` when that is lower.
 */
export interface LeaseShare {
  /** Most chats of one bot this owner may hold at once, those in flight included. */
  readonly perBot: number
  /** Chats in flight here, by bot id. */
  readonly active: ReadonlyMap<string, number>
}

/** A chat leased to this process, with the update to start on. */
export interface LeasedChat {
  readonly chatKey: string
  readonly head: PendingUpdate
}

/** An update given up on: retries exhausted, its bot stopped, or not what Telegram sends. */
export interface FailedUpdate {
  readonly id: number
  readonly botId: BotId
  readonly updateId: number
  readonly error: string | null
  readonly attempts: number
  readonly receivedAt: Date
  readonly failedAt: Date | null
}

export class UpdateInbox extends Context.Service<
  UpdateInbox,
  {
    /** "duplicate": this (bot, update_id) was accepted before, or the bot is no longer active; nothing is stored. */
    readonly accept: (update: InboundUpdate) => Effect.Effect<"accepted" | "duplicate">
    /**
     * Leases up to `limit` chats that have a due update and no live lease, for
     * `owner`, for `leaseSeconds`. Returns each with its due head update, read
     * in the same statement (no second look to start on it). Without `share`,
     * the oldest due chats whatever their bot; with it, shared out by bot.
     */
    readonly leaseChats: (
      owner: string,
      limit: number,
      leaseSeconds: number,
      share?: LeaseShare
    ) => Effect.Effect<ReadonlyArray<LeasedChat>>
    /** Extends a lease; false when it was lost (expired and taken by another owner). */
    readonly renewLease: (chatKey: string, owner: string, leaseSeconds: number) => Effect.Effect<boolean>
    readonly releaseLease: (chatKey: string, owner: string) => Effect.Effect<void>
    /** The oldest pending update of the chat if it is due; later ones wait behind it. */
    readonly nextDue: (chatKey: string) => Effect.Effect<Option.Option<PendingUpdate>>
    readonly markDone: (id: number) => Effect.Effect<void>
    /**
     * `markDone`, then `nextDue` for the same chat, in one round trip. None: no
     * update is due, and `owner`'s lease on the chat was handed back in that
     * same statement (the common end of a chat's turn).
     */
    readonly markDoneAndNext: (
      id: number,
      chatKey: string,
      owner: string
    ) => Effect.Effect<Option.Option<PendingUpdate>>
    /**
     * Not before `at`, uncounted (the attempt did not fail: it was paced), and
     * `owner`'s lease handed back, in one statement.
     */
    readonly postpone: (id: number, chatKey: string, owner: string, at: Date) => Effect.Effect<void>
    /** Try again at `retryAt` (attempts + 1). */
    readonly reschedule: (id: number, error: string, retryAt: Date) => Effect.Effect<void>
    /** Give up on it: it stays visible to admins, and the chat moves on. */
    readonly markFailed: (id: number, error: string) => Effect.Effect<void>
    readonly stats: Effect.Effect<InboxStats>
    /** Puts a given-up update back in line (retry by hand); false if there is no such update. */
    readonly requeue: (botId: BotId, updateId: number) => Effect.Effect<boolean>
    /** Failed updates, newest first; the cursor is `SerialCursor` of the last id. */
    readonly listFailed: (
      filter: { readonly botId?: BotId | undefined },
      page: PageRequest
    ) => Effect.Effect<Page<FailedUpdate>>
  }
>()("@botfleet/application/UpdateInbox") {}
