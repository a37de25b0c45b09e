// Names in messages: an error or a note that names the files, folders or fields at fault shows the first few and
// counts the rest, since a list may run to thousands (a corpus's files, a crafted configuration's fields).

/** The first `shown` items (each as `show` writes it), then "and N more" for the rest. */
export function firstFew<T>(items: T[], shown = 3, show: (item: T) => string = String): string {
  const listed = items.slice(0, shown).map(show).join(', ');
  return items.length > shown ? `${listed} and ${items.length - shown} more` : listed;
}
