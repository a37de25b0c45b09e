// The page's one DOM helper, apart from app.ts so that the panels use it without importing the page's entry.

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
