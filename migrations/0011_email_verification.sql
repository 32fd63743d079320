ALTER TABLE `users` ADD `email_verified` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `users` ADD `email_change_jti` text;--> statement-breakpoint
ALTER TABLE `users` ADD `pending_email` text;--> statement-breakpoint
-- Accounts from before verification was kept: an active one's address is the one password resets
-- already went to, so it stays usable for them. From now on an address is verified only by proof.
UPDATE `users` SET `email_verified` = true WHERE `is_active` = 1 AND `email` <> '';
