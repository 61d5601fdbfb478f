"""What the demo's customers say: names, topics, replies. Plain data."""

from __future__ import annotations

NAMES = (
    "Ann Example",
    "José Núñez",
    "Zoë Krüger",
    "李雷",
    "Priya Raman",
    "Tom O'Brien",
    "Fatima Al-Sayed",
    "Lukas Novák",
    "Mei Tanaka",
    "Olu Adeyemi",
    "Sofia Rossi",
    "Jakob Lindqvist",
    "Chloé Martin",
    "Ravi Shankar",
    "Hannah Schmidt",
    "Kwame Mensah",
    "Isabella García",
    "Nikolai Petrov",
    "Aiyana Redcloud",
    "Grace Kim",
    "Mateo Silva",
    "Emma Johansson",
    "Yusuf Demir",
    "Léa Dubois",
    "Noah Williams",
    "Amara Okafor",
    "Sven Berg",
    "Lucía Fernández",
    "Arjun Mehta",
    "Ingrid Halvorsen",
    "Dmitri Volkov",
    "Camille Laurent",
    "Tariq Hassan",
    "Nora Byrne",
    "Kenji Watanabe",
    "Ama Boateng",
    "Pedro Alves",
    "Freya Nilsson",
    "Omar Farouk",
    "Julia Nowak",
)

# (subject, first message, follow-up); {name} is the customer's first name
TOPICS = (
    (
        "Refund for order #{order}",
        "Hi,\n\nI returned order #{order} two weeks ago and haven't seen the refund yet. "
        "Could you check?\n\nThanks,\n{name}",
        "Any news on this? My bank says nothing has arrived.",
    ),
    (
        "Can't log in",
        "Hello, since this morning the app says my password is wrong, but I haven't "
        "changed it. I tried the reset link twice and never got the e-mail.",
        "Still locked out. I need the invoices for my accountant today.",
    ),
    (
        "Where is my package?",
        "The tracking for order #{order} hasn't moved in five days. Is it lost?",
        "The courier now says 'returned to sender'?!",
    ),
    (
        "Question about invoice {order}",
        "Hi team, invoice {order} shows VAT twice. Could you send a corrected one?",
        "Thanks. Could you also add our company number to it?",
    ),
    (
        "Feature request: dark mode",
        "Love the product! Any plans for a dark mode? My eyes would thank you.",
        "Happy to test a beta if you have one.",
    ),
    (
        "Damaged item",
        "The mug in order #{order} arrived in pieces. Photo attached in my next message.",
        "Do I need to send the pieces back or can you just ship a new one?",
    ),
    (
        "Cancel my subscription",
        "Please cancel my subscription at the end of this billing period.",
        "Just checking you got this - I don't want to be charged again.",
    ),
    (
        "Change delivery address",
        "I moved last week. Can you send order #{order} to my new address instead?",
        "The new address is on my account now.",
    ),
)

SHORT = (
    "Hi, is order #{order} shipped yet?",
    "My code doesn't work at checkout",
    "Can I change the size on my order?",
    "Thanks, got it!",
    "Is the shop open on Sunday?",
    "The link you sent has expired",
    "Can you call me back? {name}",
)

REPLIES = (
    "Hi {name}, thanks for your patience - I've looked into it and will get back to you "
    "within the day.",
    "Hi {name}, sorry about that! I've just sent you a new link, it is valid for 24 hours.",
    "Hi {name}, done: you'll see the change in your account within a few minutes.",
    "Thanks {name}! I've passed this on to the team and will update you tomorrow.",
)

QUOTE = (
    "\n\nOn Monday, Support <support@demo.omnitui.invalid> wrote:\n"
    "> Hi {name}, thanks for writing in.\n> We'll look into it."
)

# Shown literally by a safe console: markup and terminal escapes in the data.
HOSTILE_SUBJECT = "[bold]not bold[/bold] [link=http://evil.invalid]click me[/link]"
HOSTILE_BODY = (
    "Hi! \x1b[31mThis should not be red\x1b[0m and \x1b]0;pwned\x07the title is unchanged.\n"
    "[red]Nor is this red[/red], and [link=http://evil.invalid]this[/link] is no link."
)

# Files some customers send, by the subject of their topic: (step of the
# thread that carries it, file name, content type); {order} is the order.
FILES = {
    "Question about invoice {order}": (0, "invoice-{order}.pdf", "application/pdf"),
    "Damaged item": (2, "broken-mug.png", "image/png"),
    "Where is my package?": (2, "tracking-{order}.txt", "text/plain"),
}
