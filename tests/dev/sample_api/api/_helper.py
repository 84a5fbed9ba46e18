# Vercel makes no function of a path segment starting with "_".
