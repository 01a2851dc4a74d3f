/** A web page's readable text: the article without menus, scripts and styles. */
import { Context, type Effect } from "effect"

export interface ReadablePage {
  readonly title: string | null
  readonly text: string
}

export class PageText extends Context.Service<
  PageText,
  {
    /** `url` resolves relative links; nothing is fetched. */
    readonly fromHtml: (html: string, url: string) => Effect.Effect<ReadablePage>
  }
>()("@botfleet/application/PageText") {}
