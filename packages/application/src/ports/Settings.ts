import { Context, type Option, type Redacted } from "effect"

/** The deployment-wide settings use cases need (from the server's configuration). */
export class Settings extends Context.Service<
  Settings,
  {
    /** Where Telegram can reach our webhooks; none: bots use long polling. */
    readonly publicUrl: Option.Option<URL>
    /** The model of bots that do not name one. */
    readonly defaultModel: string
    /** Lets POST /api/auth/register create admins; none: registration is off. */
    readonly registrationToken: Option.Option<Redacted.Redacted<string>>
    /** An admin session unused this long is signed out (SESSION_IDLE_MINUTES). */
    readonly sessionIdleMinutes: number
  }
>()("@botfleet/application/Settings") {}
