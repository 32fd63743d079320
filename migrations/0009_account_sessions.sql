ALTER TABLE `sessions` ADD `issued_at` integer;--> statement-breakpoint
ALTER TABLE `sessions` ADD `user_agent` text DEFAULT '' NOT NULL;--> statement-breakpoint
CREATE INDEX `sessions_user_current_idx` ON `sessions` (`user_id`,`login_at`) WHERE "sessions"."replaced_by" is null;