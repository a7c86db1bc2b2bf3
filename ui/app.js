// The page's script.
export {};
